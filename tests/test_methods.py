"""Methods of user classes called on a parameter: the gradient is built for the class passed."""

import numpy as np

import transgrad as tg
from tests.checks import assert_close, numeric_vjp
from tests.fixtures import userfuncs as uf


def setup():
    rng = np.random.default_rng(0)
    return uf.Layer(rng.normal(size=(3, 2)), rng.normal(size=2)), rng.normal(size=(4, 3))


def test_gradient_with_respect_to_the_object_has_its_class():
    layer, x = setup()
    grad = tg.grad(uf.layer_loss)(layer, x)
    assert isinstance(grad, uf.Layer)
    for field in ("w", "b"):
        def loss_of(value, field=field):
            fields = {"w": layer.w, "b": layer.b, field: value}
            return uf.layer_loss(uf.Layer(**fields), x)
        assert_close(getattr(grad, field), numeric_vjp(loss_of, [getattr(layer, field)], 0, 1.0))


def test_gradient_through_a_method_with_respect_to_its_input():
    layer, x = setup()
    assert_close(tg.grad(uf.layer_loss, wrt=1)(layer, x),
                 numeric_vjp(uf.layer_loss, [layer, x], 1, 1.0))
    dfun = tg.grad(uf.layer_loss, wrt=1)
    dfun(layer, x)
    assert "forward_vjp.fwd(layer, x)" in dfun.source


class _Dense:
    """A module-level model called as ``model(x)`` (PyTorch style), its parameters held."""

    def __init__(self, w, b):
        self.w, self.b = w, b

    def __call__(self, x):
        return np.tanh(x @ self.w + self.b)


_MODEL = _Dense(np.linspace(-1.0, 1.0, 6).reshape(3, 2), np.array([0.1, -0.2]))


def _model_loss(x):
    return np.sum(_MODEL(x) ** 2)


def test_an_object_called_as_a_function_is_its_call_method():
    """``_MODEL(x)`` is differentiated as ``_MODEL.__call__(x)``, from the method's source,
    on numpy and JAX (it was refused: no derivative rule for the object)."""
    x = np.linspace(0.5, 2.0, 12).reshape(4, 3)
    want = numeric_vjp(_model_loss, [x], 0, 1.0)
    dloss = tg.grad(_model_loss)
    assert_close(dloss(x), want)
    assert "__call___vjp.fwd(" in dloss.source
    assert_close(np.asarray(tg.grad(_model_loss, backend="jax")(x)), want)
