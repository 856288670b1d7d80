"""HTML for ``transgrad.view``: code panes, tabs, the linking script, and error boxes.

Everything is inline (one ``<style>``, one small ``<script>``, no network), so the same
fragment works as a notebook output and inside a standalone page. Tabs are radio buttons
switched by CSS, so they work where scripts do not run; the script only adds the
cross-highlighting of an adjoint block and the line it differentiates (a click on a
``# grad of line N`` comment also follows its link to line N without it).

Syntax highlighting uses pygments when it imports (``pip install 'transgrad[view]'``);
without it the code is shown escaped, uncoloured.
"""

import ast
import html
import itertools
import re
import uuid

GRAD_COMMENT = re.compile(r"^(\s*)# grad of line (\d+)\b")
_ids = itertools.count()

CSS = """
.tg-view{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;
 font-size:13px;color:#1f2328;background:#fff;border:1px solid #d0d7de;border-radius:6px;
 padding:8px 10px;margin:4px 0;max-width:100%;box-sizing:border-box;text-align:left}
.tg-view *{box-sizing:border-box}
.tg-title{font-weight:600;margin:0 0 6px 0}
.tg-radio{display:none}
.tg-tabs{display:flex;flex-wrap:wrap;gap:2px;border-bottom:1px solid #d0d7de;margin-bottom:6px}
.tg-tabs label{padding:3px 10px;cursor:pointer;border:1px solid transparent;
 border-bottom:none;border-radius:5px 5px 0 0;color:#57606a;margin-bottom:-1px}
.tg-tabs label:hover{color:#1f2328;background:#f6f8fa}
.tg-panel{display:none}
.tg-note{color:#57606a;margin:0 0 6px 0}
.tg-panes{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:8px}
.tg-pane{border:1px solid #d0d7de;border-radius:5px;min-width:0;background:#fafbfc}
.tg-head{font-size:12px;color:#57606a;padding:3px 8px;border-bottom:1px solid #d0d7de;
 background:#f6f8fa;border-radius:5px 5px 0 0;white-space:nowrap;overflow:hidden;
 text-overflow:ellipsis}
.tg-scroll{max-height:36em;overflow:auto}
.tg-code{margin:0;padding:4px 0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,
 "Liberation Mono",monospace;font-size:12.5px;line-height:1.45;background:transparent;
 color:#1f2328;white-space:pre;border:none}
.tg-line{display:block;padding:0 8px 0 0;border-left:3px solid transparent}
.tg-line[data-tg]{border-left-color:#d8dee4;cursor:pointer}
.tg-ln{display:inline-block;width:3.2em;padding-right:0.8em;text-align:right;color:#8c959f;
 user-select:none;-webkit-user-select:none}
.tg-line.tg-hl{background:#fff5b1;border-left-color:#d4a72c}
.tg-line.tg-pin{background:#ffe58f;border-left-color:#bf8700}
.tg-line:target{background:#ffe58f}
a.tg-link{color:#0a6e3f;text-decoration:none;font-style:italic}
a.tg-link:hover{text-decoration:underline}
.tg-bad{background:#ffebe9;border-left-color:#cf222e}
.tg-caret{color:#cf222e;font-weight:700}
.tg-message{white-space:pre-wrap;font-family:ui-monospace,Menlo,Consolas,monospace;
 font-size:12.5px;margin:0 0 6px 0;color:#82071e}
.tg-where{color:#57606a;margin:0 0 6px 0;font-family:ui-monospace,Menlo,Consolas,monospace;
 font-size:12px}
.tg-hint{margin:6px 0 0 0}
.tg-error{border-color:#ff818266}
"""

# Cross-highlighting: lines sharing a data-tg value within one panel light up together; a
# click pins them and scrolls the other pane to them.
JS = """
(function(){
var root=document.getElementById("%(id)s");
if(!root||root.dataset.tgReady)return;root.dataset.tgReady="1";
function owner(el){while(el&&el!==root){if(el.getAttribute&&el.getAttribute("data-tg"))return el;
el=el.parentNode;}return null;}
function lines(el){var panel=el.closest(".tg-panel");
return panel?panel.querySelectorAll('[data-tg="'+el.getAttribute("data-tg")+'"]'):[];}
function clear(cls){root.querySelectorAll("."+cls).forEach(function(e){e.classList.remove(cls);});}
function reveal(el){var pane=el.closest(".tg-pane"),panel=el.closest(".tg-panel");if(!panel)return;
panel.querySelectorAll(".tg-pane").forEach(function(other){if(other===pane)return;
var t=other.querySelector('[data-tg="'+el.getAttribute("data-tg")+'"]');if(!t)return;
var box=other.querySelector(".tg-scroll"),top=t.offsetTop-box.offsetTop;
if(top<box.scrollTop||top>box.scrollTop+box.clientHeight-t.offsetHeight)
box.scrollTop=Math.max(0,top-box.clientHeight/3);});}
root.addEventListener("mouseover",function(e){var el=owner(e.target);clear("tg-hl");
if(el)lines(el).forEach(function(x){x.classList.add("tg-hl");});});
root.addEventListener("mouseleave",function(){clear("tg-hl");});
root.addEventListener("click",function(e){var el=owner(e.target);if(!el)return;
if(e.target.closest("a.tg-link"))e.preventDefault();
var on=!el.classList.contains("tg-pin");clear("tg-pin");
if(on){lines(el).forEach(function(x){x.classList.add("tg-pin");});reveal(el);}});
})();
"""


def new_id():
    return f"tg-{next(_ids)}-{uuid.uuid4().hex[:6]}"


def _pygments():
    """(lexer, style) from pygments, or None when it does not import."""
    try:
        from pygments.lexers import PythonLexer
        from pygments.styles import get_style_by_name
        from pygments.token import STANDARD_TYPES
    except ImportError:
        return None
    return PythonLexer(stripnl=False, ensurenl=True), get_style_by_name("default"), \
        STANDARD_TYPES


def highlighting_css():
    """CSS for pygments' token classes inside ``.tg-code`` ('' without pygments)."""
    found = _pygments()
    if found is None:
        return ""
    _, style, names = found
    rules = []
    for ttype, spec in style:
        short = names.get(ttype)
        if not short:
            continue
        decl = []
        if spec["color"]:
            decl.append(f"color:#{spec['color']}")
        if spec["bold"]:
            decl.append("font-weight:bold")
        if spec["italic"]:
            decl.append("font-style:italic")
        if decl and ttype.parent is not None:
            rules.append(f".tg-code .{short}{{{';'.join(decl)}}}")
    return "\n".join(rules)


def highlight_lines(text):
    """The HTML of each line of ``text``: pygments' spans when it imports, else escaped."""
    plain = text.split("\n")
    if plain and plain[-1] == "":
        plain.pop()
    found = _pygments()
    if found is None:
        return [html.escape(line) for line in plain]
    lexer, _, names = found
    out, current = [], []
    for ttype, value in lexer.get_tokens(text):
        while ttype not in names and ttype.parent is not None:
            ttype = ttype.parent
        css = names.get(ttype, "")
        parts = value.split("\n")
        for k, part in enumerate(parts):
            if k:
                out.append("".join(current))
                current = []
            if part:
                escaped = html.escape(part)
                current.append(f'<span class="{css}">{escaped}</span>' if css else escaped)
    if current:
        out.append("".join(current))
    if len(out) != len(plain):      # a lexer that changed the text: show it plainly
        return [html.escape(line) for line in plain]
    return out


def statement_owners(text, first_line):
    """{line number: first line of the statement it belongs to} for the original code, so a
    multi-line statement lights up whole; compound statements own their header only."""
    try:
        tree = ast.parse(_dedent(text))
    except SyntaxError:
        return {}
    owners = {}
    shift = first_line - 1

    def visit(body):
        for stmt in body:
            inner = [b for f in ("body", "orelse", "finalbody", "handlers")
                     for b in getattr(stmt, f, None) or [] if isinstance(b, ast.AST)]
            end = stmt.end_lineno
            if inner:
                end = min(b.lineno for b in inner) - 1
                end = max(end, stmt.lineno)
            for line in range(stmt.lineno, end + 1):
                owners[line + shift] = stmt.lineno + shift
            for field in ("body", "orelse", "finalbody"):
                visit(getattr(stmt, field, None) or [])
            for handler in getattr(stmt, "handlers", None) or []:
                visit(handler.body)

    visit(tree.body)
    return owners


def _dedent(text):
    import textwrap
    return textwrap.dedent(text)


def grad_blocks(text):
    """{line index (0-based): original line N} for the lines of generated ``text`` that
    belong to the adjoint block of a ``# grad of line N`` comment: the comment and what
    follows it at its indentation or deeper, up to the next such comment, the function's
    final ``return`` or a ``def``."""
    blocks, current, indent, body_indent = {}, None, 0, None
    for k, line in enumerate(text.split("\n")):
        stripped = line.lstrip()
        depth = len(line) - len(stripped)
        if stripped.startswith("def "):
            current, body_indent = None, None
            continue
        if stripped and body_indent is None:
            body_indent = depth
        match = GRAD_COMMENT.match(line)
        if match:
            current, indent = int(match.group(2)), depth
            blocks[k] = current
            continue
        if current is None or not stripped:
            continue
        if depth < indent or (depth == body_indent and stripped.startswith("return")):
            current = None
            continue
        blocks[k] = current
    return blocks


def code_pane(code, uid, side, links=None, primal=None):
    """One pane: a header and the numbered, highlighted lines of ``code`` (a view.Code).

    ``side`` is "original" or "derivative"; original lines carry ``data-tg`` = the line of
    their statement, derivative lines that of the ``# grad of line N`` block they are in
    (``links``: the original lines linked to), or, in the forward sweep, of the statement it
    computes (``primal``: {line index: original line})."""
    rows = []
    highlighted = highlight_lines(code.text)
    plain = code.text.split("\n")
    if side == "original":
        owners = statement_owners(code.text, code.first_line)
        for k, body in enumerate(highlighted):
            n = code.first_line + k
            owner = owners.get(n)
            attrs = f' id="{uid}-o{n}"'
            if owner is not None and links is not None and owner in links:
                attrs += f' data-tg="{owner}"'
            if code.bad_line == n:
                attrs += ' class="tg-line tg-bad"'
            else:
                attrs += ' class="tg-line"'
            rows.append(f'<span{attrs}><span class="tg-ln">{n}</span>{body or " "}</span>')
            if code.bad_line == n and code.bad_col is not None:
                caret = " " * code.bad_col + "^"
                rows.append(f'<span class="tg-line"><span class="tg-ln"></span>'
                            f'<span class="tg-caret">{html.escape(caret)}</span></span>')
    else:
        blocks = grad_blocks(code.text)
        for k, body in enumerate(highlighted):
            n = code.first_line + k
            target = blocks.get(k)
            if target is None and primal and primal.get(k) in (links or ()):
                target = primal[k]
            attrs = ' class="tg-line"'
            if target is not None:
                attrs += f' data-tg="{target}"'
                match = GRAD_COMMENT.match(plain[k])
                if match:
                    indent = match.group(1)
                    comment = html.escape(plain[k][len(indent):])
                    href = f' href="#{uid}-o{target}"' if links and target in links else ""
                    body = (f'{indent}<a class="tg-link c1"{href} data-line="{target}" '
                            f'title="the adjoint of line {target}">{comment}</a>')
            rows.append(f'<span{attrs}><span class="tg-ln">{n}</span>{body or " "}</span>')
    head = html.escape(code.label)
    return (f'<div class="tg-pane tg-{side}"><div class="tg-head" title="{head}">{head}</div>'
            f'<div class="tg-scroll"><pre class="tg-code">{"".join(rows)}</pre></div></div>')


def style_block(uid, count):
    """The stylesheet: shared rules, pygments' colours, and this view's tab switching."""
    tabs = []
    for k in range(count):
        tabs.append(f"#{uid}-t{k}:checked~.tg-panels .tg-p{k}{{display:block}}")
        tabs.append(f"#{uid}-t{k}:checked~.tg-tabs label[for={uid}-t{k}]"
                    "{color:#1f2328;background:#fff;border-color:#d0d7de;font-weight:600}")
    return f"<style>{CSS}{highlighting_css()}\n{chr(10).join(tabs)}</style>"


def panel_html(panel, uid, k):
    """The body of one tab: a note and the two panes (or the error that stopped it)."""
    pid = f"{uid}-p{k}"
    parts = [f'<div class="tg-panel tg-p{k}" data-label="{html.escape(panel.label)}">']
    if panel.note:
        parts.append(f'<div class="tg-note">{html.escape(panel.note)}</div>')
    if panel.error is not None:
        parts.append(error_body(panel.error, pid, panel.error_code))
    else:
        first = panel.original.first_line
        shown = range(first, first + len(panel.original.text.split("\n")))
        links = {n for n in grad_blocks(panel.derivative.text).values() if n in shown}
        links |= {n for n in (panel.primal or {}).values() if n in shown}
        parts.append('<div class="tg-panes">')
        parts.append(code_pane(panel.original, pid, "original", links))
        parts.append(code_pane(panel.derivative, pid, "derivative", links, panel.primal))
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def view_html(title, panels, subtitle=""):
    """The notebook fragment for a derivative: tabs over ``panels`` (view.Panel)."""
    uid = new_id()
    out = [f'<div class="tg-view" id="{uid}">', style_block(uid, len(panels)),
           f'<div class="tg-title">{html.escape(title)}</div>']
    if subtitle:
        out.append(f'<div class="tg-note">{html.escape(subtitle)}</div>')
    for k in range(len(panels)):
        checked = " checked" if k == 0 else ""
        out.append(f'<input type="radio" class="tg-radio" name="{uid}-tabs" id="{uid}-t{k}"'
                   f"{checked}>")
    out.append('<div class="tg-tabs">')
    for k, panel in enumerate(panels):
        out.append(f'<label for="{uid}-t{k}" title="{html.escape(panel.note)}">'
                   f"{html.escape(panel.label)}</label>")
    out.append('</div><div class="tg-panels">')
    out.extend(panel_html(panel, uid, k) for k, panel in enumerate(panels))
    out.append(f"</div><script>{JS % {'id': uid}}</script></div>")
    return "".join(out)


def error_body(error, uid, code=None):
    """The message, the offending function (``code``, its line marked) and the hint."""
    parts = [f'<div class="tg-message">{html.escape(error.message)}</div>']
    if error.filename is not None or error.lineno is not None:
        where = f'File "{error.filename}", line {error.lineno}'
        if error.col_offset is not None:
            where += f", column {error.col_offset + 1}"
        parts.append(f'<div class="tg-where">{html.escape(where)}</div>')
    if code is not None:
        parts.append(code_pane(code, uid, "original"))
    if error.hint:
        parts.append(f'<div class="tg-hint"><b>Hint:</b> {html.escape(error.hint)}</div>')
    return "".join(parts)


def error_html(error, title=None, code=None):
    """The notebook fragment for a TransformError."""
    uid = new_id()
    title = title or "TransformError"
    return (f'<div class="tg-view tg-error" id="{uid}">{style_block(uid, 0)}'
            f'<div class="tg-title">{html.escape(title)}</div>'
            f'{error_body(error, uid, code)}</div>')


def page(fragment, title):
    """A standalone HTML page around a fragment (inline CSS and JS, no network)."""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title>"
            "<style>body{margin:16px;background:#fff}</style></head>\n<body>\n"
            f"{fragment}\n</body></html>\n")
