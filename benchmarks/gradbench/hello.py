"""hello: GradBench's first eval for every tool (evals/hello): ``square`` and its derivative
``double``, on one float; tool.py answers it with transgrad's gradient."""
import transgrad as tg

NAME = "hello"


def square(x):
    return x * x


def primal(x):
    return square(x)


def prepare(x):
    """The derivative built once, as a GradBench tool builds it before its timed runs."""
    double = tg.grad(square)
    return lambda: double(x)
