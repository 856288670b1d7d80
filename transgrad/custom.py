"""User-level control over derivatives: custom rules and stopped gradients."""

from .errors import TransformError
from .rules.registry import Rule, nondifferentiable, register_vjp


def defvjp(primitive):
    """Register a custom reverse rule for any callable, as a decorator.

    The rule follows the same contract as transgrad's own (``transgrad.rules``): it takes the
    output's cotangent ``g``, the output ``ans`` and the primitive's arguments, and returns one
    cotangent per positional argument (``None`` where there is none). The compiler inlines the
    rule's body into generated code; the Tensor calls it. Registering over an existing rule
    replaces it for this process, with a warning.

    Example::

        def softplus(x):
            return np.log1p(np.exp(x))

        @tg.defvjp(softplus)
        def softplus_vjp(g, ans, x):
            return g / (1 + np.exp(-x))
    """
    if not callable(primitive):
        raise TransformError(f"tg.defvjp needs the callable to differentiate, got {primitive!r}")

    def register(rule_function):
        rule = Rule(rule_function.__name__, (primitive,), rule_function, broadcasting=True,
                    user=True)
        _ = rule.template   # parse now, so a bad rule fails where it is defined
        register_vjp(rule, override_warning=True)
        from .api import clear_cache
        clear_cache()   # gradients built before inlined the old derivative
        return rule_function
    return register


def stop_gradient(x):
    """``x`` itself, through which no derivative flows (a constant for differentiation)."""
    return x


nondifferentiable(stop_gradient, reason="tg.stop_gradient")


class grad_of:
    """Inspect or change a gradient inside a differentiated function.

    In code that transgrad differentiates, ``with tg.grad_of(x) as gx:`` moves the block into
    the adjoint sweep, at the point where the gradient of ``x`` is complete, with ``gx`` bound
    to it; whatever the block leaves in ``gx`` is the gradient that flows on. When the function
    simply runs (not differentiated), the block runs with ``gx`` a zero of x's shape, and what
    it computes is discarded.

    Example (gradient clipping inside an RNN loop)::

        for x in xs:
            h = np.tanh(h @ w + x)
            with tg.grad_of(h) as gh:
                gh = np.clip(gh, -1.0, 1.0)
    """

    def __init__(self, value):
        self.value = value

    def __enter__(self):
        from .runtime import zeros_like_value
        return zeros_like_value(self.value)

    def __exit__(self, *exc):
        return False
