"""transgrad as a GradBench tool: answers GradBench's JSON protocol on stdin / stdout.

    python benchmarks/gradbench/tool.py            # reads messages, one JSON object a line

The protocol (gradbench/gradbench CONTRIBUTING.md, "Protocol"): the eval sends ``start``,
then ``define`` of a module (an eval's name), then ``evaluate`` messages naming a function of
that module and its input; each message gets one response with the same ``id``. ``analysis``
and any other kind get ``{"id": ...}``. An evaluate input carries ``min_runs`` and
``min_seconds``: the function runs at least that many times and that long, and each run's
time is one ``evaluate`` timing in nanoseconds (as GradBench's Python tools time them:
gradbench/wrap.py ``multiple_runs``). Building transgrad's derivative (``tg.grad(...)``, the
work a GradBench tool does before its timed runs) is reported as one ``prepare`` timing; the
first timed run includes transgrad's compilation, as the first run of GradBench's JAX tool
includes ``jax.jit``'s.

The objectives and their derivatives are this folder's numpy modules, differentiated by
transgrad (each module's ``prepare``); this file only converts GradBench's inputs and outputs
(the formats of evals/*/README.md and of GradBench's PyTorch tool for ba's sparse Jacobian).
The evals: hello (GradBench's first eval for a tool) and the eleven of this folder: lse, gmm,
kmeans, llsq, ode, lstm, det, ba, ht (the complicated variant), particle, saddle.
"""
import json
import os
import sys
import time
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

def _array(value, dtype=np.float64):
    return np.array(value, dtype=dtype)


# --- per eval: input -> (primal args), and the functions with their outputs --------------

def lse_args(input):
    return (_array(input["x"]),)


def gmm_args(input):
    fixed = {"d": input["d"], "k": input["k"], "n": input["n"], "x": _array(input["x"]),
             "m": input["m"], "gamma": input["gamma"]}
    independent = {name: _array(input[name]) for name in ("alpha", "mu", "q", "l")}
    return (independent, fixed)


def kmeans_args(input):
    return (_array(input["points"]), _array(input["centroids"]))


def llsq_args(input):
    return (_array(input["x"]), int(input["n"]))


def ode_args(input):
    return (_array(input["x"]), int(input["s"]))


def lstm_args(input):
    return tuple(_array(input[name])
                 for name in ("main_params", "extra_params", "state", "sequence"))


def det_args(input):
    return (_array(input["A"]), int(input["ell"]))


def ba_args(input):
    import ba
    return ba.prepare_input(input)


def ht_args(input):
    if len(input.get("us", [])) == 0:
        raise NotImplementedError("ht's simple variant (no `us`) is not implemented; "
                                  "the complicated one is")
    data, model = input["data"], input["data"]["model"]
    us, theta = _array(input["us"]), _array(input["theta"])
    all_params = np.append(us.flatten(), theta)
    return (all_params, int(model["bone_count"]), _array(model["parents"], np.int64),
            _array(model["base_relatives"]), _array(model["inverse_base_absolutes"]),
            _array(model["base_positions"]), _array(model["weights"]),
            bool(model["is_mirrored"]), _array(data["points"]),
            _array(data["correspondences"], np.int64), _array(model["triangles"], np.int64))


def ba_objective_output(result):
    # as GradBench's PyTorch tool: the p-fold duplication undone
    reproj_err, w_err = result
    return {"reproj_error": {"elements": [float(v) for v in reproj_err[:2]],
                             "repeated": len(reproj_err) // 2},
            "w_err": {"element": float(w_err[0]), "repeated": len(w_err)}}


def ba_jacobian_output(result, args):
    """The sparse Jacobian in GradBench's layout (rows as CSR offsets, then cols and vals:
    per observation two rows of 11 camera, 3 point and 1 weight columns, then one row per
    weight), only its first 30 entries and its last, as GradBench transmits it."""
    reproj_J, w_J = result
    cams, X, _, obs, _ = args
    n, m, p = len(cams), len(X), len(obs)
    rows = [0]
    cols, vals = [], []
    for j in range(p):
        for r in range(2):
            rows.append(rows[-1] + 15)
            cols += [11 * obs[j, 0] + i for i in range(11)]
            cols += [11 * n + 3 * obs[j, 1] + i for i in range(3)]
            cols.append(11 * n + 3 * m + j)
            vals += reproj_J[j, r].tolist()
    for j in range(p):
        rows.append(rows[-1] + 1)
        cols.append(11 * n + 3 * m + j)
        vals.append(float(w_J[j]))

    def dedup(values):
        return values[:30] + values[-1:]
    return {"rows": [int(v) for v in dedup(rows)], "cols": [int(v) for v in dedup(cols)],
            "vals": [float(v) for v in dedup(vals)]}


def tolist(value):
    return np.asarray(value).tolist()


def gradient_dict(grads):
    return {name: tolist(value) for name, value in grads.items()}


def lstm_jacobian_output(grads):
    return np.concatenate([np.ravel(g) for g in grads]).tolist()


VARIANTS = ("rr", "fr", "rf", "ff")


# eval -> (args from input, {function: ("primal" | "derivative", output converter)})
SPECS = {
    "hello": (lambda input: (float(input),), {"square": ("primal", float),
                                              "double": ("derivative", float)}),
    "lse": (lse_args, {"primal": ("primal", float), "gradient": ("derivative", tolist)}),
    "gmm": (gmm_args, {"objective": ("primal", float),
                       "jacobian": ("derivative", gradient_dict)}),
    "kmeans": (kmeans_args, {"cost": ("primal", float), "dir": ("derivative", tolist)}),
    "llsq": (llsq_args, {"primal": ("primal", float), "gradient": ("derivative", tolist)}),
    "ode": (ode_args, {"primal": ("primal", tolist), "gradient": ("derivative", tolist)}),
    "lstm": (lstm_args, {"objective": ("primal", float),
                         "jacobian": ("derivative", lstm_jacobian_output)}),
    "det": (det_args, {"primal": ("primal", float), "gradient": ("derivative", tolist)}),
    "ba": (ba_args, {"objective": ("primal", ba_objective_output),
                     "jacobian": ("derivative", ba_jacobian_output)}),
    "ht": (ht_args, {"objective": ("primal", lambda e: np.ravel(e).tolist()),
                     "jacobian": ("derivative", tolist)}),
    "particle": (lambda input: (float(input["w"]),),
                 {variant: ("derivative", float) for variant in VARIANTS}),
    "saddle": (lambda input: (_array(input["start"]),),
               {variant: ("derivative", tolist) for variant in VARIANTS}),
}


def evaluate(module_name, function, input):
    """The response fields (success, output, timings) for one evaluate message."""
    import importlib
    module = importlib.import_module(module_name)
    make_args, functions = SPECS[module_name]
    if function not in functions:
        return {"success": False, "error": f"{module_name} has no function {function!r}"}
    kind, convert = functions[function]
    args = make_args(input)
    if module_name in ("particle", "saddle"):
        args = args + (function,)
    start = time.perf_counter_ns()
    if kind == "primal":
        def fn():
            return module.primal(*args)
    else:
        fn = module.prepare(*args)
    timings = [{"name": "prepare", "nanoseconds": time.perf_counter_ns() - start}]
    options = input if isinstance(input, dict) else {}     # hello's input is a bare number
    min_runs = int(options.get("min_runs", 1))
    min_seconds = float(options.get("min_seconds", 0))
    elapsed = 0
    runs = 0
    while runs < max(min_runs, 1) or elapsed < min_seconds * 1e9:
        start = time.perf_counter_ns()
        result = fn()
        took = time.perf_counter_ns() - start
        timings.append({"name": "evaluate", "nanoseconds": took})
        elapsed += took
        runs += 1
    if convert is ba_jacobian_output:
        output = convert(result, args)
    else:
        output = convert(result)
    return {"success": True, "output": output, "timings": timings}


def respond(message):
    """The response to one message (a dict with the message's id)."""
    kind = message.get("kind")
    response = {"id": message["id"]}
    if kind == "start":
        import transgrad
        response["tool"] = "transgrad"
        response["config"] = {"numpy": np.__version__,
                              "transgrad": getattr(transgrad, "__version__", "dev")}
    elif kind == "define":
        name = message["module"]
        if name not in SPECS:
            response.update(success=False, error=f"transgrad has no {name!r} eval")
        else:
            try:
                import importlib
                importlib.import_module(name)
                response["success"] = True
            except Exception as error:     # noqa: BLE001 - sent to the eval
                response.update(success=False, error="".join(
                    traceback.format_exception(error)))
    elif kind == "evaluate":
        try:
            response.update(evaluate(message["module"], message["function"],
                                     message.get("input")))
        except Exception as error:     # noqa: BLE001 - sent to the eval
            response.update(success=False, error="".join(traceback.format_exception(error)))
    return response


def main(stdin=sys.stdin, stdout=sys.stdout):
    for line in stdin:
        if not line.strip():
            continue
        print(json.dumps(respond(json.loads(line))), file=stdout, flush=True)


if __name__ == "__main__":
    main()
