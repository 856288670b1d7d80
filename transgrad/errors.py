"""Errors that transgrad raises.

Every error that points at user code carries the file, line, column, the offending source line
and a hint, so the user can fix the input without reading transgrad's internals.
"""


class TransformError(Exception):
    """The input cannot be differentiated as written.

    Attributes:
        filename, lineno, col_offset: where in the user's source the problem is.
        source_line: the text of that line.
        hint: what to do instead.
    """

    def __init__(self, message, *, filename=None, lineno=None, col_offset=None,
                 source_line=None, hint=None):
        self.message = message
        self.filename = filename
        self.lineno = lineno
        self.col_offset = col_offset
        self.source_line = source_line
        self.hint = hint
        super().__init__(self._format())

    def _repr_html_(self):   # notebooks: the offending line highlighted in its function
        return __import__("transgrad.view").view.error_html(self)

    def _format(self):
        parts = [self.message]
        if self.filename is not None or self.lineno is not None:
            where = f"  File \"{self.filename}\", line {self.lineno}"
            if self.col_offset is not None:
                where += f", column {self.col_offset + 1}"
            parts.append(where)
        if self.source_line:
            parts.append("    " + self.source_line.strip())
            if self.col_offset is not None:
                indent = len(self.source_line) - len(self.source_line.lstrip())
                caret = max(self.col_offset - indent, 0)
                parts.append("    " + " " * caret + "^")
        if self.hint:
            parts.append(f"Hint: {self.hint}")
        return "\n".join(parts)
