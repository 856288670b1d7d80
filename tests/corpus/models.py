"""Small realistic models and losses, straight-line."""

import numpy as np

from transgrad.rules.specs import A, P

from . import corpus_function

LAMBDA = 0.1
EPSILON = 1e-5


def _labels(rng, n, k):
    onehot = np.zeros((n, k))
    onehot[np.arange(n), rng.integers(0, k, n)] = 1.0
    return onehot


@corpus_function(A(5, 4), A(4, 3), A(6, 5), A(6, 3), wrt=(0, 1), float32=True)
def two_layer_relu(w1, w2, x, y):
    h = np.maximum(x @ w1, 0.0)
    out = h @ w2
    return np.sum((out - y) ** 2)


@corpus_function(make=lambda rng: (rng.normal(size=(4, 5)), rng.normal(size=5),
                                   rng.normal(size=(5, 3)), rng.normal(size=3),
                                   rng.normal(size=(3, 2)), rng.normal(size=(6, 4)),
                                   rng.normal(size=(6, 2))),
                 wrt=(0, 1, 2, 3, 4))
def mlp_tanh(w1, b1, w2, b2, w3, x, y):
    h1 = np.tanh(x @ w1 + b1)
    h2 = np.tanh(h1 @ w2 + b2)
    out = h2 @ w3
    return np.mean((out - y) ** 2)


@corpus_function(make=lambda rng: (rng.normal(size=4), 0.3, rng.normal(size=(8, 4)),
                                   rng.integers(0, 2, 8).astype(float)),
                 wrt=(0, 1))
def logistic_regression(w, b, x, y):
    logits = x @ w + b
    loss = np.logaddexp(0.0, logits) - y * logits
    return np.mean(loss) + LAMBDA * np.sum(w ** 2)


@corpus_function(make=lambda rng: (rng.normal(size=(4, 3)), rng.normal(size=(5, 4)) * 3.0,
                                   _labels(rng, 5, 3)),
                 wrt=(0, 1), float32=True)
def softmax_cross_entropy(w, x, labels):
    logits = x @ w
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(labels * log_probs) / x.shape[0]


@corpus_function(A(4, 6), A(6), A(6), wrt=(0, 1, 2))
def layer_norm(x, gamma, beta):
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.var(x, axis=-1, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + EPSILON)
    y = gamma * xhat + beta
    return np.sum(y ** 2 * np.arange(6))


@corpus_function(A(5, 4), A(4, 3), A(4, 3), A(4, 3), wrt=(0, 1, 2, 3))
def attention(x, wq, wk, wv):
    q = x @ wq
    k = x @ wk
    v = x @ wv
    scores = q @ k.T / np.sqrt(3.0)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    out = weights @ v
    return np.sum(out ** 2)


@corpus_function(A(3), A(3), A(7, 3), wrt=(0, 1, 2))
def gaussian_log_likelihood(mu, log_sigma, x):
    sigma = np.exp(log_sigma)
    z = (x - mu) / sigma
    log_p = -0.5 * z ** 2 - log_sigma - 0.5 * np.log(2.0 * np.pi)
    return np.sum(log_p)


@corpus_function(A(4), A(10, 4), A(10), wrt=0)
def ridge_regression(w, x, y):
    residual = x @ w - y
    return residual @ residual / len(y) + LAMBDA * w @ w


@corpus_function(A(6), A(6), wrt=(0, 1))
def huber_loss(pred, target):
    r = pred - target
    small = np.abs(r) < 1.0
    return np.sum(np.where(small, 0.5 * r ** 2, np.abs(r) - 0.5))


@corpus_function(make=lambda rng: (rng.normal(size=3), rng.normal(size=(8, 3)),
                                   np.where(rng.random(8) > 0.5, 1.0, -1.0)),
                 wrt=0)
def hinge_svm(w, x, y):
    margins = 1.0 - y * (x @ w)
    return np.mean(np.maximum(margins, 0.0)) + 0.5 * LAMBDA * np.dot(w, w)


@corpus_function(make=lambda rng: (rng.normal(size=3) * 0.3, rng.normal(size=(6, 3)),
                                   rng.poisson(2.0, 6).astype(float)),
                 wrt=0)
def poisson_regression(w, x, counts):
    eta = x @ w
    return np.sum(np.exp(eta) - counts * eta)


@corpus_function(A(4, 2), A(6, 4), wrt=0)
def linear_autoencoder(w, x):
    code = x @ w
    recon = code @ w.T
    return np.mean((recon - x) ** 2)


@corpus_function(A(8, 3), A(3), A(3), wrt=(0, 1, 2))
def batch_norm(x, gamma, beta):
    mean = x.mean(axis=0)
    centered = x - mean
    std = np.sqrt((centered ** 2).mean(axis=0) + EPSILON)
    y = centered / std * gamma + beta
    return np.sum(np.tanh(y))


@corpus_function(A(5, 2), P(), P(), A(5), wrt=(0, 1, 2))
def gaussian_process_nll(x, length, noise, y):
    sq = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    k = np.exp(-0.5 * sq / length ** 2) + noise * np.eye(5)
    chol = np.linalg.cholesky(k)
    alpha = np.linalg.solve(k, y)
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(chol)))


@corpus_function(A(3), A(3), A(4, 3), A(4, 3), A(4), A(4), wrt=(0, 1, 2, 3, 4))
def lstm_cell(x, h, wx, wh, b, c):
    z = wx @ x + wh @ h + b
    gate = 1.0 / (1.0 + np.exp(-z))
    cand = np.tanh(z)
    c_new = gate * c + (1.0 - gate) * cand
    h_new = np.tanh(c_new) * gate
    return np.sum(h_new ** 2) + np.sum(c_new)


@corpus_function(A(10), A(3), wrt=(0, 1))
def conv1d_valid(signal, kernel):
    out = (kernel[0] * signal[0:8] + kernel[1] * signal[1:9] + kernel[2] * signal[2:10])
    return np.sum(np.maximum(out, 0.0) ** 2)


@corpus_function(A(6, 2), A(3, 2), wrt=(0, 1))
def rbf_kernel_sum(x, centers):
    d2 = np.sum((x[:, None, :] - centers[None, :, :]) ** 2, axis=2)
    return np.sum(np.exp(-d2))


@corpus_function(make=lambda rng: (rng.normal(size=(3, 4)), rng.normal(size=4),
                                   rng.normal(size=(5, 3)), np.array([0, 3, 1, 1, 2])),
                 wrt=(0, 1))
def embedding_lookup_loss(table, w, x, ids):
    vectors = table[ids % 3]
    scores = vectors @ w
    return np.sum(np.log1p(np.exp(scores))) + np.sum(x * scores[:, None])
