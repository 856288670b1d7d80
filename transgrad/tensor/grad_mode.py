"""Whether Tensor operations are recorded: a per-thread flag and the context managers over it.

``no_grad``, ``enable_grad`` and ``set_grad_enabled`` work as context managers and as
decorators, like PyTorch's, and only affect the thread they run in.
"""

import functools
import inspect
import threading


class _GradState(threading.local):
    enabled = True      # the class attribute is every new thread's starting value


STATE = _GradState()


def is_grad_enabled():
    """True when Tensor operations are being recorded in this thread."""
    return STATE.enabled


class _GradModeContext:
    """Base of the grad-mode context managers: sets ``_mode`` on entry, restores on exit."""

    _mode = True

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        if orig_func is not None and callable(orig_func):
            # used as a bare decorator: @tg.no_grad
            return self(orig_func)
        return self

    def __init__(self, orig_func=None):
        self._prev = []

    def __enter__(self):
        self._prev.append(STATE.enabled)
        STATE.enabled = self._mode
        return self

    def __exit__(self, *exc):
        STATE.enabled = self._prev.pop()
        return False

    def __call__(self, func):
        mode = self._mode

        if inspect.isgeneratorfunction(func):
            @functools.wraps(func)
            def generator(*args, **kwargs):
                gen = func(*args, **kwargs)
                value = None
                while True:
                    prev, STATE.enabled = STATE.enabled, mode
                    try:
                        item = gen.send(value)
                    except StopIteration as stop:
                        return stop.value
                    finally:
                        STATE.enabled = prev
                    value = yield item
            return generator

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            prev, STATE.enabled = STATE.enabled, mode
            try:
                return func(*args, **kwargs)
            finally:
                STATE.enabled = prev
        return wrapper

    def clone(self):
        return type(self)()


class no_grad(_GradModeContext):
    """Record nothing inside: results of Tensor operations do not require grad.

    Example::

        with tg.no_grad():
            w -= learning_rate * w.grad      # an update that must not be differentiated

        @tg.no_grad()
        def evaluate(model, x): ...
    """

    _mode = False


class enable_grad(_GradModeContext):
    """Record operations inside, even within an enclosing ``no_grad``.

    Example::

        with tg.no_grad():
            with tg.enable_grad():
                y = x * 2            # recorded
    """

    _mode = True


class set_grad_enabled(_GradModeContext):
    """Set recording on or off: as a function call, a context manager or a decorator.

    Called as a function it changes the mode at once (``tg.set_grad_enabled(False)``); used in
    ``with`` it restores the previous mode on exit.

    Example::

        with tg.set_grad_enabled(is_training):
            loss = model(x)
    """

    def __new__(cls, mode):
        return object.__new__(cls)

    def __init__(self, mode):
        self._mode = bool(mode)
        self._prev = [STATE.enabled]
        STATE.enabled = self._mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        STATE.enabled = self._prev.pop() if self._prev else True
        return False

    def __call__(self, func):
        STATE.enabled = self._prev[0]     # a decorator must not change the mode where defined
        return _GradModeContext.__call__(self, func)

    def clone(self):
        return set_grad_enabled(self._mode)
