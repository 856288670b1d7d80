"""The compiler's passes, one job per module.

Analyses are nouns (``activity``, ``shapes``); transformations are verbs (``fence`` checks,
``resolve``, ``normalize``, ``reverse``, ``optimize``). ``transgrad/pipeline.py`` lists them, in
the order builds run them: ``FRONT_END``, ``MODE_PASSES``, ``LOWERING`` per backend and
``CALL_TIME``. A pass receives the pipeline's ``Context`` (the backend, the namer, how to build
a called function's derivative) and never imports the pipeline or ``transgrad.api``.
"""
