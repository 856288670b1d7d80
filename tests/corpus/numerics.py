"""Numerical methods as scientists write them: finite differences, quadrature, interpolation,
convolution, order statistics, PCA and spectral decompositions, least squares (issue 12)."""

import numpy as np

from transgrad.rules.specs import A, P

from . import corpus_function


@corpus_function(A(8), 0.25, wrt=0)
def stencil_energy(u, h):
    """A discretized Dirichlet energy two ways: forward differences and np.gradient's central
    stencil, integrated by the trapezoid rule."""
    slope = np.gradient(u, h)
    return np.sum(np.diff(u) ** 2) / h + np.trapezoid(slope ** 2, dx=h) \
        + np.sum(np.diff(u, n=2) ** 2)


@corpus_function(A(6, 3), wrt=0)
def pca_reconstruction(x):
    """The rank-2 PCA reconstruction error and the explained variance of the first
    component, through a thin SVD of the centred data."""
    centred = x - np.mean(x, axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    approx = (u[:, :2] * s[:2]) @ vt[:2]
    return np.sum((centred - approx) ** 2) + s[0] ** 2 / np.sum(s ** 2)


@corpus_function(A(7, 2), A(7), A(2), wrt=(0, 1, 2))
def robust_regression(x, y, w):
    """A median-scaled pseudo-Huber loss, the scale the median absolute deviation."""
    residual = y - x @ w
    scale = np.median(np.abs(residual - np.median(residual))) + 0.1
    z = residual / scale
    return np.mean(np.sqrt(1.0 + z ** 2) - 1.0)


@corpus_function(A(6), A(5), wrt=(0, 1))
def calibration_curve(x, values):
    """A piecewise linear calibration curve fitted to targets, with end penalties."""
    knots = np.array([-2.0, -1.0, 0.1, 1.0, 2.0])
    fitted = np.interp(x, knots, values)
    return np.sum((fitted - np.sin(x)) ** 2) + 0.1 * np.sum(np.diff(values) ** 2)


@corpus_function(A(8, 3), wrt=0)
def principal_axis(x):
    """The largest eigenvalue of the sample covariance and the correlation matrix's spread."""
    w, v = np.linalg.eigh(np.cov(x, rowvar=False))
    corr = np.corrcoef(x, rowvar=False)
    return w[-1] + np.sum(v[:, -1] ** 4) + np.sum(corr ** 2)


@corpus_function(A(4, 3), A(4, 3), wrt=(0, 1))
def torque(r, force):
    """The squared torques of forces at positions, and the angular momentum's z part."""
    tau = np.cross(r, force)
    return np.sum(tau ** 2) + np.sum(np.cross(r, force, axis=1)[:, 2])


@corpus_function(A(12), P(3), wrt=(0, 1))
def smoothed_signal(signal, kernel):
    """A normalized smoothing kernel convolved with a signal, and a matched filter's peak."""
    smooth = np.convolve(signal, kernel / np.sum(kernel), mode="same")
    matched = np.correlate(signal, kernel, mode="valid")
    return np.sum((smooth - signal) ** 2) + np.max(matched)


@corpus_function(A(10), A(3, 5), wrt=(0, 1))
def tail_statistics(losses, batch):
    """A value-at-risk style upper quantile, a percentile spread and a range penalty."""
    upper = np.quantile(losses, 0.9)
    spread = np.percentile(batch, 75.0, axis=1) - np.percentile(batch, 25.0, axis=1)
    return upper + np.sum(spread) + 0.1 * np.ptp(losses)


@corpus_function(A(5, 3), A(5), wrt=(0, 1))
def qr_least_squares(a, b):
    """Least squares by QR, checked against np.linalg.lstsq's residual."""
    q, r = np.linalg.qr(a)
    x = np.linalg.solve(r, q.T @ b)
    fit = np.linalg.lstsq(a, b, rcond=None)[0]
    return np.sum(x ** 2) + np.sum((a @ fit - b) ** 2) + np.linalg.multi_dot([b, a, x])


@corpus_function(A(3, 4), wrt=0, jax=False)
def nan_masked_mean(x):
    """Statistics of data with missing entries marked NaN (a boolean mask: numpy only)."""
    masked = np.where(x > 1.5, np.nan, x)
    return np.nansum(masked ** 2) + np.sum(np.nanmean(masked, axis=0)) + np.nanmax(masked) \
        + np.sum(np.nan_to_num(masked) * 0.5)


@corpus_function(A(3, 4), A(2, 4), wrt=(0, 1), vector_output=True)
def assembled_blocks(a, b):
    """Blocks assembled, rotated and cut again."""
    stacked = np.block([[a], [b]])
    turned = np.rot90(stacked)
    left, right = np.hsplit(turned, [2])
    return np.column_stack([np.sum(left, axis=1), right[:, 0]]) + np.dstack([a, a])[0, :, :1]
