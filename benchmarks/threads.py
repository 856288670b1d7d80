"""Pin the BLAS and OpenMP thread pools from ``--threads N`` (default 1) before numpy, torch or
jax load: imported first by each benchmark script. Returns nothing; sets ``THREADS``."""

import os
import sys


def threads_from_argv(argv):
    """The value of ``--threads N`` / ``--threads=N`` in ``argv`` (1 when absent)."""
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return 1


THREADS = threads_from_argv(sys.argv[1:])
if THREADS > 0:
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                 "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[_var] = str(THREADS)
