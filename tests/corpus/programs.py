"""Realistic programs with loops, branches, calls and containers: recurrent networks unrolled
over time, convolution written with loops, ODE integrators, Newton's method, classifiers,
normalization and attention, unrolled optimization.
"""

import numpy as np

from transgrad.rules.specs import A, P

from . import corpus_function

EPSILON = 1e-5


def _labels(rng, n, k):
    onehot = np.zeros((n, k))
    onehot[np.arange(n), rng.integers(0, k, n)] = 1.0
    return onehot


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _dense(x, w, b):
    return x @ w + b


def _relu(x):
    return np.maximum(x, 0.0)


def _rnn_inputs(rng, hidden=4, features=3, steps=6):
    return (rng.normal(size=(features, hidden)) * 0.5, rng.normal(size=(hidden, hidden)) * 0.5,
            rng.normal(size=hidden) * 0.1, rng.normal(size=(steps, features)))


@corpus_function(make=_rnn_inputs, wrt=(0, 1, 2), float32=True)
def rnn_unrolled(wx, wh, b, xs):
    h = np.zeros(wh.shape[0])
    loss = 0.0
    for x in xs:
        h = np.tanh(x @ wx + h @ wh + b)
        loss = loss + np.sum(h ** 2)
    return loss


@corpus_function(make=lambda rng: _rnn_inputs(rng, steps=70), wrt=(0, 1, 2))
def rnn_long(wx, wh, b, xs):
    """70 steps: the weights' per-step products are deferred, added per 64 steps and after."""
    h = np.zeros(wh.shape[0])
    loss = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ wx + h @ wh + b)
        loss = loss + np.sum(h ** 2)
    return loss


@corpus_function(make=lambda rng: (rng.normal(size=(4, 4)) * 0.4, rng.normal(size=(4, 3)) * 0.5,
                                   rng.normal(size=(67, 3, 2))), wrt=(0, 1))
def rnn_matrix_state(w, u, xs):
    """A state of two columns multiplied from the left: the weights' products are g @ h.T,
    deferred by concatenating the columns."""
    h = np.zeros((4, 2))
    for t in range(xs.shape[0]):
        h = np.tanh(w @ h + u @ xs[t])
    return np.sum(h ** 2) + np.sum(h[0])


@corpus_function(make=lambda rng: (rng.normal(size=(3, 3)) * 0.4, rng.normal(size=(3, 2)) * 0.5,
                                   rng.normal(size=(3, 2)) * 0.5, rng.normal(size=(66, 2))),
                 wrt=(0, 1, 2))
def rnn_gated_restarts(wh, wx, wg, xs):
    """Two projections of each input row (the state's and a gate's), in a loop run twice from
    the start with a weight that changes between the runs (never within one): each run makes
    its chunks of projections anew."""
    total = 0.0
    for run in range(2):
        h = np.zeros(3) + run
        for t in range(xs.shape[0]):
            x = xs[t]
            gate = 1.0 / (1.0 + np.exp(-(wg @ x)))
            h = gate * np.tanh(wh @ h + wx @ x) + (1.0 - gate) * h
        total = total + np.sum(h ** 2)
        wx = wx * 0.5
    return total


@corpus_function(make=lambda rng: (rng.normal(size=(3, 2)) * 0.5, rng.normal(size=(67, 2)),
                                   rng.normal(size=(2, 3)) * 0.5), wrt=(0, 1, 2), jax=False)
def rnn_inputs_fed_back(wx, xs, wb):
    """Each step writes into the next input row, so the rows are not known before the loop:
    no projection is made ahead of its step."""
    xs = xs.copy()
    h = np.zeros(3)
    for t in range(xs.shape[0] - 1):
        h = np.tanh(wx @ xs[t] + 0.5 * h)
        xs[t + 1] = xs[t + 1] + wb @ h
    return np.sum(h ** 2) + np.sum(xs ** 2) * 0.01


def _lstm_inputs(rng, hidden=3, features=2, steps=5):
    return (rng.normal(size=(features, 4 * hidden)) * 0.5,
            rng.normal(size=(hidden, 4 * hidden)) * 0.5, rng.normal(size=4 * hidden) * 0.1,
            rng.normal(size=(steps, features)), rng.normal(size=hidden))


@corpus_function(make=_lstm_inputs, wrt=(0, 1, 2, 3), jax=False)
def lstm_unrolled(wx, wh, b, xs, target):
    n = wh.shape[0]
    h = np.zeros(n)
    c = np.zeros(n)
    outputs = []
    for t in range(xs.shape[0]):
        z = xs[t] @ wx + h @ wh + b
        i = _sigmoid(z[:n])
        f = _sigmoid(z[n:2 * n] + 1.0)
        o = _sigmoid(z[2 * n:3 * n])
        g = np.tanh(z[3 * n:])
        c = f * c + i * g
        h = o * np.tanh(c)
        outputs.append(h)
    hs = np.stack(outputs)
    return np.sum((hs[-1] - target) ** 2) + 0.1 * np.sum(hs ** 2)


def _gru_inputs(rng, hidden=3, features=2, steps=5):
    return (rng.normal(size=(3, features, hidden)) * 0.5,
            rng.normal(size=(3, hidden, hidden)) * 0.5, rng.normal(size=(steps, features)))


@corpus_function(make=_gru_inputs, wrt=(0, 1))
def gru_unrolled(wx, wh, xs):
    h = np.zeros(wh.shape[1])
    for x in xs:
        r = 1.0 / (1.0 + np.exp(-(x @ wx[0] + h @ wh[0])))
        u = 1.0 / (1.0 + np.exp(-(x @ wx[1] + h @ wh[1])))
        cand = np.tanh(x @ wx[2] + (r * h) @ wh[2])
        h = u * h + (1.0 - u) * cand
    return np.sum(h ** 2) + np.sum(h)


@corpus_function(A(12), A(3), wrt=(0, 1), jax=False, float32=True)
def conv1d_loops(signal, kernel):
    n = signal.shape[0] - kernel.shape[0] + 1
    out = np.zeros(n)
    for i in range(n):
        for k in range(kernel.shape[0]):
            out[i] += kernel[k] * signal[i + k]
    return np.sum(np.tanh(out) ** 2)


@corpus_function(A(2, 8), A(2, 3, 2), wrt=(0, 1), jax=False)
def conv1d_multichannel(x, w):
    channels_out = w.shape[0]
    width = w.shape[1]
    n = x.shape[1] - width + 1
    out = np.zeros((channels_out, n))
    for c in range(channels_out):
        for i in range(n):
            out[c, i] = np.sum(w[c].T * x[:, i:i + width])
    return np.sum(_relu(out) ** 2)


@corpus_function(make=lambda rng: (rng.normal(size=2), np.array([0.5, -1.2, 0.3])),
                 wrt=(0, 1))
def euler_ode(y0, theta):
    # damped oscillator y'' = -k y - c y' + f, integrated with 60 explicit Euler steps
    dt = 0.05
    y = y0
    for _ in range(60):
        dy = np.array([y[1], -np.exp(theta[0]) * y[0] + theta[1] * y[1] * 0.2 + theta[2]])
        y = y + dt * dy
    return np.sum(y ** 2)


def _lotka_volterra(y, params):
    return np.stack([params[0] * y[0] - params[1] * y[0] * y[1],
                     params[2] * y[0] * y[1] - params[3] * y[1]])


@corpus_function(make=lambda rng: (np.array([1.0, 0.5]), np.array([1.1, 0.4, 0.4, 0.9])),
                 wrt=(0, 1), jax=False)
def rk4_ode(y0, params):
    dt = 0.1
    y = y0
    for _ in range(30):
        k1 = _lotka_volterra(y, params)
        k2 = _lotka_volterra(y + 0.5 * dt * k1, params)
        k3 = _lotka_volterra(y + 0.5 * dt * k2, params)
        k4 = _lotka_volterra(y + dt * k3, params)
        y = y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y[0] * 2.0 + y[1]


@corpus_function(make=lambda rng: (np.array([2.0, 3.0, 0.5]),), wrt=0, jax=False)
def newton_cube_root(a):
    # the root of y**3 + y - a; its derivative is 1 / (3 y**2 + 1)
    y = np.ones(3)
    step = np.ones(3)
    while np.max(np.abs(step)) > 1e-12:
        step = (y ** 3 + y - a) / (3.0 * y ** 2 + 1.0)
        y = y - step
    return np.sum(y * np.arange(1.0, 4.0))


@corpus_function(make=lambda rng: (1.7,), wrt=0, jax=False)
def newton_scalar_root(p):
    # x = cos(p x): Newton on f(x) = x - cos(p x)
    x = 0.5
    n = 0
    while n < 50:
        f = x - np.cos(p * x)
        if abs(f) < 1e-13:
            break
        x = x - f / (1.0 + p * np.sin(p * x))
        n = n + 1
    return x * x


@corpus_function(make=lambda rng: (rng.normal(size=(4, 3)), rng.normal(size=3),
                                   rng.normal(size=(8, 4)) * 2.0, _labels(rng, 8, 3)),
                 wrt=(0, 1))
def softmax_classifier_batches(w, b, x, labels):
    loss = 0.0
    for start in range(0, x.shape[0], 3):
        xb = x[start:start + 3]
        yb = labels[start:start + 3]
        logits = xb @ w + b
        logits = logits - np.max(logits, axis=1, keepdims=True)
        log_probs = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
        loss = loss - np.sum(yb * log_probs)
    return loss / x.shape[0] + 0.01 * np.sum(w * w)


@corpus_function(A(4, 6), A(6), A(6), wrt=(0, 1, 2), jax=False)
def layer_norm_rows(x, gamma, beta):
    out = np.zeros_like(x)
    for i in range(x.shape[0]):
        row = x[i]
        mu = np.mean(row)
        var = np.mean((row - mu) ** 2)
        out[i] = gamma * (row - mu) / np.sqrt(var + EPSILON) + beta
    return np.sum(out ** 2 * np.arange(6.0)) + np.sum(out)


@corpus_function(A(5, 4), A(4, 3), A(4, 3), A(4, 3), wrt=(0, 1, 2, 3))
def attention_single_head(x, wq, wk, wv):
    q = x @ wq
    k = x @ wk
    v = x @ wv
    rows = []
    for i in range(x.shape[0]):
        scores = k @ q[i] / np.sqrt(3.0)
        scores = scores - np.max(scores)
        weights = np.exp(scores)
        weights = weights / np.sum(weights)
        rows.append(weights @ v)
    out = np.stack(rows)
    return np.sum(out ** 2)


@corpus_function(A(5, 4), A(4, 3), A(4, 3), A(4, 3), wrt=(0, 1, 2, 3), jax=False)
def attention_causal_online(x, wq, wk, wv):
    # causal attention with a running max and running sums (an online softmax)
    q = x @ wq
    k = x @ wk
    v = x @ wv
    total = 0.0
    for i in range(x.shape[0]):
        best = -1e30
        denom = 0.0
        acc = np.zeros(3)
        for j in range(i + 1):
            s = np.dot(q[i], k[j])
            if s > best:
                scale = np.exp(best - s)
                denom = denom * scale
                acc = acc * scale
                best = s
            p = np.exp(s - best)
            denom = denom + p
            acc = acc + p * v[j]
        total = total + np.sum((acc / denom) ** 2)
    return total


def _mlp_inputs(rng):
    return (rng.normal(size=(4, 5)) * 0.7, rng.normal(size=5) * 0.1,
            rng.normal(size=(5, 5)) * 0.5, rng.normal(size=5) * 0.1,
            rng.normal(size=(5, 2)) * 0.5, rng.normal(size=(6, 4)), rng.normal(size=(6, 2)))


@corpus_function(make=_mlp_inputs, wrt=(0, 1, 2, 3, 4), jax=False)
def mlp_from_helpers(w1, b1, w2, b2, w3, x, y):
    h = _relu(_dense(x, w1, b1))
    for _ in range(2):
        h = h + 0.5 * np.tanh(_dense(h, w2, b2))   # a residual block used twice
    out = h @ w3
    return np.mean((out - y) ** 2)


@corpus_function(make=lambda rng: (rng.normal(size=3), 0.1, rng.normal(size=(10, 3)),
                                   rng.normal(size=10)),
                 wrt=(0, 1), jax=False, float32=True)
def sgd_with_clipping(w0, lr, x, y):
    # unrolled gradient descent on least squares with the gradient clipped by value
    w = w0
    for _ in range(8):
        residual = x @ w - y
        g = x.T @ residual / x.shape[0]
        g = np.clip(g, -0.5, 0.5)
        w = w - lr * g
    r = x @ w - y
    return np.mean(r ** 2)


@corpus_function(make=lambda rng: (rng.normal(size=(4, 4)),), wrt=0, jax=False)
def power_iteration(a):
    m = a @ a.T + np.eye(4)
    v = np.ones(4) / 2.0
    for _ in range(60):
        w = m @ v
        v = w / np.linalg.norm(w)
    return v @ m @ v


def _hmm_inputs(rng):
    return (rng.normal(size=(3, 3)), rng.normal(size=(3, 4)), rng.normal(size=3),
            np.array([0, 2, 1, 3, 3, 0]))


@corpus_function(make=_hmm_inputs, wrt=(0, 1, 2))
def hmm_forward_algorithm(trans_logits, emit_logits, init_logits, observations):
    log_trans = trans_logits - np.log(np.sum(np.exp(trans_logits), axis=1, keepdims=True))
    log_emit = emit_logits - np.log(np.sum(np.exp(emit_logits), axis=1, keepdims=True))
    log_alpha = init_logits - np.log(np.sum(np.exp(init_logits))) \
        + log_emit[:, observations[0]]
    for t in range(1, observations.shape[0]):
        scores = log_alpha[:, None] + log_trans
        top = np.max(scores, axis=0)
        log_alpha = top + np.log(np.sum(np.exp(scores - top), axis=0)) \
            + log_emit[:, observations[t]]
    top = np.max(log_alpha)
    return top + np.log(np.sum(np.exp(log_alpha - top)))


@corpus_function(make=lambda rng: (np.array([0.3, -0.2]), P(2).make(rng), rng.normal(size=12)),
                 wrt=(0, 1), jax=False)
def kalman_filter_loglik(params, noise, observations):
    # 1-D local-level model with AR coefficient tanh(params[0]) and offset params[1]
    phi = np.tanh(params[0])
    mean = 0.0
    var = 1.0
    loglik = 0.0
    for z in observations:
        mean = phi * mean + params[1]
        var = phi * phi * var + noise[0]
        s = var + noise[1]
        loglik = loglik - 0.5 * (np.log(2.0 * np.pi * s) + (z - mean) ** 2 / s)
        gain = var / s
        mean = mean + gain * (z - mean)
        var = (1.0 - gain) * var
    return loglik
