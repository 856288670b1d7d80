"""A differential fuzzer for transgrad: random numpy programs (gen), checked in every mode
against finite differences and jax.grad (check), shrunk to a minimal failing program (shrink).

``python -m tests.fuzz --count 10000`` runs the long campaign; tests/test_fuzz.py runs a fast
slice and replays the saved regressions (tests/fuzz/regressions/).
"""
