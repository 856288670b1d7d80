"""``transgrad.torch.fft``, ``.special`` and ``.linalg``: PyTorch's names for the functions that
have a rule, each applied to Tensors through that rule (``ops.apply``).

Each entry maps a PyTorch name to the numpy or scipy function, PyTorch's parameters in order,
how many of them are passed on by position, and the numpy names of the rest (``dim`` is
``axis``, ``keepdim`` is ``keepdims``). A function is listed only where PyTorch has it with
the same meaning; scipy's load when scipy imports (it stays optional).
"""

import types

import numpy as np

from .ops import apply

_FFT_1D = ("input", "n", "dim", "norm")
_FFT_ND = ("input", "s", "dim", "norm")
_AXIS = {"dim": "axis", "keepdim": "keepdims"}
_AXES = {"dim": "axes"}


def _lower_from_upper(upper):
    return not upper


def _table():
    fft = {name: (getattr(np.fft, name), _FFT_1D, 1, _AXIS)
           for name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft")}
    fft.update({name: (getattr(np.fft, name), _FFT_ND, 1, _AXES)
                for name in ("fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn", "rfftn",
                             "irfftn")})
    fft.update({name: (getattr(np.fft, name), ("input", "dim"), 1, _AXES)
                for name in ("fftshift", "ifftshift")})
    linalg = {
        "inv": (np.linalg.inv, ("A",), 1, {}),
        "det": (np.linalg.det, ("A",), 1, {}),
        "slogdet": (np.linalg.slogdet, ("A",), 1, {}),
        "solve": (np.linalg.solve, ("A", "B"), 2, {}),
        "cholesky": (np.linalg.cholesky, ("A",), 1, {}),
        "eigh": (np.linalg.eigh, ("A", "UPLO"), 1, {}),
        "eigvalsh": (np.linalg.eigvalsh, ("A", "UPLO"), 1, {}),
        "svd": (np.linalg.svd, ("A", "full_matrices"), 1, {}),
        "qr": (np.linalg.qr, ("A", "mode"), 1, {}),
        "pinv": (np.linalg.pinv, ("A",), 1, {}),
        "matrix_power": (np.linalg.matrix_power, ("A", "n"), 2, {}),
        "multi_dot": (np.linalg.multi_dot, ("tensors",), 1, {}),
        "norm": (np.linalg.norm, ("A", "ord", "dim", "keepdim"), 1, _AXIS),
        "vector_norm": (np.linalg.vector_norm, ("x", "ord", "dim", "keepdim"), 1, _AXIS),
        "matrix_norm": (np.linalg.matrix_norm, ("A", "ord"), 1, {}),   # dim=(-2, -1) only
        "cross": (np.cross, ("input", "other", "dim"), 2, _AXIS),
    }
    special = {
        "expm1": (np.expm1, ("input",), 1, {}), "exp2": (np.exp2, ("input",), 1, {}),
        "log1p": (np.log1p, ("input",), 1, {}), "sinc": (np.sinc, ("input",), 1, {}),
    }
    try:
        from scipy import linalg as scipy_linalg
        from scipy import special as scipy_special
    except ImportError:
        return {"fft": fft, "linalg": linalg, "special": special}
    linalg["solve_triangular"] = (scipy_linalg.solve_triangular, ("A", "B", "upper"), 2,
                                  {"upper": ("lower", _lower_from_upper)})
    for name in ("erf", "erfc", "erfinv", "expit", "logit", "gammaln", "digamma", "psi",
                 "i0", "i0e", "i1", "i1e", "ndtr", "ndtri", "log_ndtr", "xlogy", "xlog1py",
                 "polygamma", "multigammaln", "gammainc", "gammaincc"):
        func = getattr(scipy_special, name)
        arity = 2 if name in ("xlogy", "xlog1py", "polygamma", "multigammaln", "gammainc",
                              "gammaincc") else 1
        special[name] = (func, ("input", "other")[:arity], arity, {})
    for torch_name, name in (("bessel_j0", "j0"), ("bessel_j1", "j1"), ("bessel_y0", "y0"),
                             ("bessel_y1", "y1"), ("modified_bessel_i0", "i0"),
                             ("modified_bessel_i1", "i1")):
        special[torch_name] = (getattr(scipy_special, name), ("input",), 1, {})
    special["logsumexp"] = (scipy_special.logsumexp, ("input", "dim", "keepdim"), 1, _AXIS)
    special["softmax"] = (scipy_special.softmax, ("input", "dim"), 1, _AXIS)
    special["log_softmax"] = (scipy_special.log_softmax, ("input", "dim"), 1, _AXIS)
    return {"fft": fft, "linalg": linalg, "special": special}


TABLE = _table()


def _function(module, name, func, params, positional, renames):
    def call(*args, **kwargs):
        if len(args) > len(params):
            raise TypeError(f"torch.{module}.{name}() takes at most {len(params)} positional "
                            f"arguments ({len(args)} given)")
        given = dict(zip(params, args))
        for key, value in kwargs.items():
            if key not in params or key in given:
                raise TypeError(f"torch.{module}.{name}() got an unexpected or repeated "
                                f"argument '{key}'")
            given[key] = value
        front = [given.pop(p) for p in params[:positional] if p in given]
        keywords = {}
        for key, value in given.items():
            rename = renames.get(key, key)
            if isinstance(rename, tuple):
                rename, convert = rename
                value = convert(value)
            keywords[rename] = value
        return apply(func, *front, **keywords)
    call.__name__ = name
    call.__qualname__ = f"{module}.{name}"
    call.__doc__ = f"``torch.{module}.{name}``: ``{_public(func)}`` applied to Tensors."
    return call


def _public(func):
    module = getattr(func, "__module__", None) or "numpy"
    return f"{module}.{getattr(func, '__name__', func)}"


def modules():
    """``{"fft": module, "special": module, "linalg": module}`` for ``transgrad.torch``."""
    out = {}
    for module, entries in TABLE.items():
        namespace = types.ModuleType(f"transgrad.torch.{module}",
                                     f"``torch.{module}``: PyTorch's names for transgrad's rules.")
        for name, (func, params, positional, renames) in entries.items():
            setattr(namespace, name, _function(module, name, func, params, positional, renames))
        out[module] = namespace
    return out


def reachable():
    """The functions a ``transgrad.torch`` submodule applies to Tensors (for the listing)."""
    return [entry[0] for entries in TABLE.values() for entry in entries.values()]
