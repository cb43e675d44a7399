"""ImageNet-C: corruption error (CE), mCE, relative mCE, unnormalised mean error.

Definitions (Hendrycks & Dietterich 2019, "Benchmarking Neural Network Robustness to Common
Corruptions and Perturbations", ICLR; docs/benchmarks.md §3.1-3.2):

    CE_c       = sum_s E_{s,c} / sum_s E_{s,c}^base                       (x 100, percent)
    rel. CE_c  = sum_s (E_{s,c} - E_clean) / sum_s (E_{s,c}^base - E_clean^base)
    mCE        = mean of CE_c over the 15 test corruptions (the 4 validation ones ignored)

The baseline defaults to AlexNet (torchvision weights), whose per-severity errors are below,
keyed by corruption NAME (never by list position: a misordered list silently divides
brightness by gaussian_noise's constant). Relative CE uses the per-severity difference form
(E_clean inside the sum, i.e. subtracted once per severity), the usual reading of the paper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from shiftlab.errors import UserError
from shiftlab.metrics.registry import MetricInfo, add_metric

TEST_CORRUPTIONS: tuple[str, ...] = (
    "gaussian_noise", "shot_noise", "impulse_noise",
    "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
    "snow", "frost", "fog", "brightness",
    "contrast", "elastic_transform", "pixelate", "jpeg_compression",
)  # fmt: skip
VALIDATION_CORRUPTIONS: tuple[str, ...] = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
ALL_CORRUPTIONS: tuple[str, ...] = TEST_CORRUPTIONS + VALIDATION_CORRUPTIONS
SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)

# AlexNet top-1 error per severity 1..5: maintainer comment in hendrycks/robustness issue #10
# (docs/benchmarks.md §3.1). Their means equal augmix's ALEXNET_ERR (checked in the tests).
ALEXNET_SEVERITY_ERRORS: dict[str, tuple[float, ...]] = {
    "gaussian_noise": (0.69528, 0.82542, 0.93554, 0.98138, 0.99452),
    "shot_noise": (0.71224, 0.85108, 0.93574, 0.98182, 0.99146),
    "impulse_noise": (0.78374, 0.89808, 0.9487, 0.9872, 0.99548),
    "defocus_blur": (0.65624, 0.73202, 0.85036, 0.91364, 0.94714),
    "glass_blur": (0.64308, 0.75054, 0.88806, 0.91622, 0.93344),
    "motion_blur": (0.5843, 0.70048, 0.82108, 0.8975, 0.92638),
    "zoom_blur": (0.70008, 0.76992, 0.80784, 0.84198, 0.87198),
    "snow": (0.71726, 0.88392, 0.86468, 0.9187, 0.94952),
    "frost": (0.6139, 0.79734, 0.8879, 0.89942, 0.9343),
    "fog": (0.67474, 0.7605, 0.84378, 0.8726, 0.945),
    "brightness": (0.4514, 0.48502, 0.54048, 0.62166, 0.7244),
    "contrast": (0.64548, 0.7615, 0.88874, 0.9776, 0.9927),
    "elastic_transform": (0.52596, 0.70116, 0.55686, 0.64076, 0.80554),
    "pixelate": (0.52218, 0.5462, 0.73728, 0.87092, 0.91262),
    "jpeg_compression": (0.51002, 0.54718, 0.57294, 0.65458, 0.74778),
}
# AlexNet mean error over severities: google-research/augmix imagenet.py ALEXNET_ERR, easyrobust
# get_ce_alexnet (identical values).
ALEXNET_MEAN_ERRORS: dict[str, float] = {
    "gaussian_noise": 0.886428, "shot_noise": 0.894468, "impulse_noise": 0.922640,
    "defocus_blur": 0.819880, "glass_blur": 0.826268, "motion_blur": 0.785948,
    "zoom_blur": 0.798360, "snow": 0.866816, "frost": 0.826572, "fog": 0.819324,
    "brightness": 0.564592, "contrast": 0.853204, "elastic_transform": 0.646056,
    "pixelate": 0.717840, "jpeg_compression": 0.606500,
}  # fmt: skip
# torchvision AlexNet_Weights.IMAGENET1K_V1 acc@1 = 56.522 (pytorch.org docs) -> clean error.
ALEXNET_CLEAN_ERROR = 0.43478

# errors: corruption -> five per-severity error rates (severity 1..5), or {severity: error}.
Errors = Mapping[str, Sequence[float] | Mapping[int, float]]


def _by_severity(values: Sequence[float] | Mapping[int, float], what: str) -> dict[int, float]:
    if isinstance(values, Mapping):
        out = {int(s): float(e) for s, e in values.items()}
    else:
        vals = list(values)
        if len(vals) != len(SEVERITIES):
            raise UserError(
                f"{what}: expected 5 per-severity errors (severity 1..5), got {len(vals)}"
            )
        out = dict(zip(SEVERITIES, map(float, vals), strict=True))
    bad = [e for e in out.values() if not 0.0 <= e <= 1.0]
    if bad:
        raise UserError(f"{what}: error rates must be fractions in [0, 1], got {bad[0]}")
    if not out:
        raise UserError(f"{what}: no severities")
    return out


def _baseline_for(name: str, baseline: Errors | None) -> dict[int, float]:
    if baseline is None:
        if name not in ALEXNET_SEVERITY_ERRORS:
            raise UserError(
                f"no AlexNet constant for corruption {name!r} (only the 15 test corruptions)"
            )
        return dict(zip(SEVERITIES, ALEXNET_SEVERITY_ERRORS[name], strict=True))
    if name not in baseline:
        raise UserError(f"baseline has no errors for corruption {name!r}")
    return _by_severity(baseline[name], f"baseline {name}")


def _paired(name: str, errors: Errors, baseline: Errors | None) -> tuple[np.ndarray, np.ndarray]:
    mine = _by_severity(errors[name], name)
    base = _baseline_for(name, baseline)
    missing = sorted(set(mine) - set(base))
    if missing:
        raise UserError(f"{name}: baseline lacks severities {missing}")
    sev = sorted(mine)  # normalise over the same severities on both sides
    return np.array([mine[s] for s in sev]), np.array([base[s] for s in sev])


def corruption_error(name: str, errors: Errors, baseline: Errors | None = None) -> float:
    """CE of one corruption in percent: 100 * sum_s E_s / sum_s E_s^baseline (same severities)."""
    mine, base = _paired(name, errors, baseline)
    return float(100.0 * mine.sum() / base.sum())


def corruption_errors(errors: Errors, baseline: Errors | None = None) -> dict[str, float]:
    """CE (percent) for every corruption in `errors` that has a baseline (AlexNet: the 15 test ones)."""
    names = [n for n in errors if baseline is not None or n in ALEXNET_SEVERITY_ERRORS]
    if baseline is not None:
        names = [n for n in names if n in baseline]
    return {n: corruption_error(n, errors, baseline) for n in names}


def relative_corruption_error(
    name: str,
    errors: Errors,
    clean_error: float,
    baseline: Errors | None = None,
    baseline_clean_error: float | None = None,
) -> float:
    """Relative CE (percent): 100 * sum_s (E_s - E_clean) / sum_s (E_s^base - E_clean^base)."""
    if baseline is None and baseline_clean_error is None:
        baseline_clean_error = ALEXNET_CLEAN_ERROR
    if baseline_clean_error is None:
        raise UserError("relative mCE with a baseline needs the baseline's clean error")
    mine, base = _paired(name, errors, baseline)
    denom = (base - baseline_clean_error).sum()
    if denom == 0:
        return float("nan")
    return float(100.0 * (mine - clean_error).sum() / denom)


def _require_test_set(errors: Errors) -> None:
    missing = [c for c in TEST_CORRUPTIONS if c not in errors]
    if missing:
        raise UserError(f"mCE needs all 15 test corruptions; missing: {', '.join(missing)}")


def mce(errors: Errors, baseline: Errors | None = None) -> float:
    """Mean corruption error (percent) over the 15 test corruptions; extra corruptions ignored.

    `errors[c]` holds the five per-severity error rates of corruption c in [0, 1]; `baseline`
    (same shape) defaults to AlexNet's published errors.
    """
    _require_test_set(errors)
    return float(np.mean([corruption_error(c, errors, baseline) for c in TEST_CORRUPTIONS]))


def relative_mce(
    errors: Errors,
    clean_error: float,
    baseline: Errors | None = None,
    baseline_clean_error: float | None = None,
) -> float:
    """Relative mCE (percent) over the 15 test corruptions: mean of the relative CEs.

    `clean_error` is the model's clean top-1 error in [0, 1]; the baseline's defaults to
    AlexNet's 0.43478 when `baseline` is None.
    """
    _require_test_set(errors)
    return float(
        np.mean(
            [
                relative_corruption_error(c, errors, clean_error, baseline, baseline_clean_error)
                for c in TEST_CORRUPTIONS
            ]
        )
    )


def mean_error(errors: Errors, corruptions: Sequence[str] | None = None) -> float:
    """Unnormalised mean error (fraction) over corruptions x severities (hendrycks test.py: 19)."""
    names = list(corruptions) if corruptions is not None else list(errors)
    return float(np.mean([np.mean(list(_by_severity(errors[n], n).values())) for n in names]))


for _name, _unit, _interval, _doc in [
    ("error", "%", "clopper-pearson", "top-1 error of one corruption/severity cell"),
    (
        "ce_alexnet",
        "%",
        "bootstrap",
        "corruption error normalised by AlexNet (variant = corruption)",
    ),
    ("ce_baseline", "%", "bootstrap", "corruption error normalised by the study's baseline run"),
    ("mce_alexnet", "%", "bootstrap", "mean CE over the 15 test corruptions, AlexNet-normalised"),
    ("mce_baseline", "%", "bootstrap", "mean CE over the 15 test corruptions, baseline-normalised"),
    ("relative_mce_alexnet", "%", "bootstrap", "relative mCE vs AlexNet (clean error 43.478 %)"),
    ("relative_mce_baseline", "%", "bootstrap", "relative mCE vs the study's baseline run"),
    (
        "mean_error_19",
        "%",
        "bootstrap",
        "unnormalised mean error over all 19 corruptions x 5 severities",
    ),
    (
        "mean_error",
        "%",
        "bootstrap",
        "unnormalised mean error over the corruptions present (fewer than 19)",
    ),
]:
    add_metric(MetricInfo(_name, _unit, _interval, _doc, f"{__name__}"))
