"""The compiler's passes, one job per module.

Analyses are nouns (``activity``, ``shapes``); transformations are verbs (``fence`` checks,
``resolve``, ``normalize``, ``reverse``, ``optimize``). ``transgrad.api`` strings them together
in one short pipeline.
"""
