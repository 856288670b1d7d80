"""Which line of the user's file each line of generated code comes from.

``codegen.compile_function`` fills ``LINE_MAPS`` when it compiles code built from a user's
function; a backend that reports an error raised inside generated code (JAX's traced-value
errors) reads it to name the user's line. Its own module so that both import it from below
(``codegen`` imports the backends).
"""

LINE_MAPS = {}   # generated file name -> (user file, {generated line: user line})
