import numpy as np
from scipy import stats
from scipy.special import expit, logit

from shiftlab.stats.effective_robustness import bootstrap_band, fit_logit_line, residuals


def test_points_on_logit_line_have_zero_residual():
    clean = np.array([0.55, 0.62, 0.70, 0.76, 0.81, 0.88])
    shifted = expit(1.3 * logit(clean) - 0.7)
    fit = fit_logit_line(clean, shifted)
    assert np.isclose(fit.slope, 1.3) and np.isclose(fit.intercept, -0.7)
    np.testing.assert_allclose(residuals(fit, clean, shifted), 0, atol=1e-12)
    # a robust model 5 points above the line at clean 0.7
    above = expit(1.3 * logit(0.7) - 0.7) + 0.05
    np.testing.assert_allclose(residuals(fit, [0.7], [above]), [0.05])
    low, high = bootstrap_band(clean, shifted, clean, n_boot=200, seed=0)
    np.testing.assert_allclose(low, shifted, atol=1e-9)
    np.testing.assert_allclose(high, shifted, atol=1e-9)


def test_fit_equals_linregress_on_noisy_points():
    rng = np.random.default_rng(0)
    clean = rng.uniform(0.5, 0.9, 12)
    shifted = expit(logit(clean) * 1.1 - 1.0 + rng.normal(0, 0.1, 12))
    fit = fit_logit_line(clean, shifted)
    ref = stats.linregress(logit(clean), logit(shifted))
    assert np.isclose(fit.slope, ref.slope) and np.isclose(fit.intercept, ref.intercept)
    assert np.isclose(fit.rvalue, ref.rvalue) and np.isclose(fit.pvalue, ref.pvalue)
    grid = np.linspace(0.5, 0.9, 9)
    low, high = bootstrap_band(clean, shifted, grid, n_boot=500, seed=1)
    line = fit.predict(grid)
    assert np.all(low <= line + 1e-12) and np.all(line <= high + 1e-12)


def test_band_matches_loop_of_linregress():
    rng = np.random.default_rng(4)
    clean = rng.uniform(0.5, 0.9, 5)
    shifted = expit(logit(clean) * 0.9 - 0.8 + rng.normal(0, 0.2, 5))
    grid = np.array([0.6, 0.8])
    low, high = bootstrap_band(clean, shifted, grid, n_boot=300, seed=7)
    idx = np.random.default_rng(7).integers(0, 5, size=(300, 5))
    curves = []
    for row in idx:
        if np.unique(clean[row]).size < 2:
            continue
        r = stats.linregress(logit(clean[row]), logit(shifted[row]))
        curves.append(expit(r.slope * logit(grid) + r.intercept))
    ref_low, ref_high = np.percentile(curves, [2.5, 97.5], axis=0)
    np.testing.assert_allclose(low, ref_low, rtol=1e-9)
    np.testing.assert_allclose(high, ref_high, rtol=1e-9)


def test_single_clean_accuracy_has_no_line():
    assert fit_logit_line([0.7, 0.7], [0.5, 0.6]) is None
    assert np.isnan(bootstrap_band([0.7], [0.5], [0.7])[0]).all()
