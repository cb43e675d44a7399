"""ImageNet-P: flip probability (FP), top-5 distance (T5D), mFR and mT5D.

Definitions (Hendrycks & Dietterich 2019; reference code `hendrycks/robustness`
ImageNet-P/test.py; docs/benchmarks.md §3.3):

- Noise sequences (perturbation name contains "noise"): every frame j >= 1 is compared with
  frame 0 (the clean image), which stays the reference; stride 1.
- Other sequences, stride d (= difficulty): for each offset i in [0, d) walk frames[i::d] and
  compare each frame with the previous one of that sub-sequence.
- Per video, the comparisons are pooled into one mean; videos are averaged with equal weight.
- FP = mean over videos of 1[top1 differs from reference].
- T5D for reference ranking s1 and current ranking s2 (the official 'top5' mode of
  `dist(s2[argsort(s1)])` with cum_sum_top5 = cumsum([0]+[1]*5+[0]*994)) reduces to
      T5D = sum_{j=0..4} | j - min(q_j, 5) |
  where q_j is the 0-based position, in the current ranking, of the class the REFERENCE
  ranked j-th. Only positions below 5 matter, so stored top-k lists with k >= 5 give the exact
  official value: a reference top-5 class that is missing from the current top-k list sits at
  position >= k >= 5 and counts as 5. No approximation is involved.
- FR_p = FP_p / FP_p^base, mFR = mean over perturbations (percent); likewise mT5D from T5D.
  The published AlexNet FP/T5D constants are not available, so the baseline is a run of the
  study (e.g. AlexNet evaluated on the same sequences).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np

from shiftlab.errors import UserError
from shiftlab.metrics.registry import MetricInfo, add_metric, register_metric

TEST_PERTURBATIONS: tuple[str, ...] = (
    "gaussian_noise", "shot_noise", "motion_blur", "zoom_blur", "snow",
    "brightness", "translate", "rotate", "tilt", "scale",
)  # fmt: skip
VALIDATION_PERTURBATIONS: tuple[str, ...] = ("speckle_noise", "gaussian_blur", "spatter", "shear")


def is_noise(perturbation: str) -> bool:
    """Noise sequences compare with frame 0 (the official test: 'noise' in the name)."""
    return "noise" in perturbation


def base_perturbation(variant: str) -> str:
    """`gaussian_noise_2` -> `gaussian_noise` (difficulty folders of the noise sequences)."""
    head, _, tail = variant.rpartition("_")
    return head if head and tail.isdigit() else variant


def comparison_pairs(n_frames: int, noise: bool, stride: int = 1) -> Iterator[tuple[int, int]]:
    """(reference frame, compared frame) index pairs of one video, in the official order."""
    if noise:
        yield from ((0, j) for j in range(1, n_frames))
        return
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    for offset in range(stride):
        frames = list(range(offset, n_frames, stride))
        yield from zip(frames[:-1], frames[1:], strict=True)


def _videos(arr: np.ndarray | Sequence) -> Iterable[np.ndarray]:
    return [np.asarray(v) for v in arr]


def per_video_flips(
    top1: np.ndarray | Sequence[Sequence[int]], noise: bool, stride: int = 1
) -> np.ndarray:
    """Mean flip indicator of each video (NaN for a video with no comparison)."""
    out = []
    for video in _videos(top1):
        pairs = list(comparison_pairs(len(video), noise, stride))
        out.append(np.mean([video[a] != video[b] for a, b in pairs]) if pairs else np.nan)
    return np.asarray(out, dtype=np.float64)


@register_metric(
    "fp", unit="%", interval="bootstrap", doc="flip probability (variant = perturbation)"
)
def flip_probability(
    top1: np.ndarray | Sequence[Sequence[int]], noise: bool, stride: int = 1
) -> float:
    """FP of one perturbation from top-1 predictions of shape (videos, frames) (or ragged)."""
    flips = per_video_flips(top1, noise, stride)
    return float(np.nanmean(flips)) if np.isfinite(flips).any() else float("nan")


def top5_pair_distance(reference: Sequence[int], current: Sequence[int]) -> int:
    """Official 'top5' distance between two top-k lists (k >= 5, best first)."""
    ref, cur = list(reference)[:5], list(current)
    if len(ref) < 5 or len(cur) < 5:
        raise ValueError("the top-5 distance needs top-k lists with k >= 5")
    pos = {c: i for i, c in enumerate(cur[:5])}
    return int(sum(abs(j - pos.get(c, 5)) for j, c in enumerate(ref)))


def per_video_top5_distance(
    ranks: np.ndarray | Sequence, noise: bool, stride: int = 1
) -> np.ndarray:
    """Mean top-5 distance of each video; `ranks` is (videos, frames, k) top-k class lists."""
    out = []
    for video in _videos(ranks):
        pairs = list(comparison_pairs(len(video), noise, stride))
        d = [top5_pair_distance(video[a], video[b]) for a, b in pairs]
        out.append(np.mean(d) if d else np.nan)
    return np.asarray(out, dtype=np.float64)


@register_metric(
    "t5d",
    unit="positions",
    interval="bootstrap",
    doc="mean top-5 distance (variant = perturbation)",
)
def top5_distance(ranks: np.ndarray | Sequence, noise: bool, stride: int = 1) -> float:
    """T5D of one perturbation from (videos, frames, k >= 5) top-k class lists, best first."""
    d = per_video_top5_distance(ranks, noise, stride)
    return float(np.nanmean(d)) if np.isfinite(d).any() else float("nan")


def _normalised_mean(
    values: Mapping[str, float], baseline: Mapping[str, float], what: str
) -> float:
    if not values:
        raise UserError(f"{what}: no perturbations")
    missing = sorted(set(values) - set(baseline))
    if missing:
        raise UserError(f"{what}: baseline lacks perturbations {', '.join(missing)}")
    if any(not baseline[p] > 0 for p in values):
        # A baseline that never flips cannot normalise: the ratio is undefined, not infinite.
        return float("nan")
    return float(100.0 * np.mean([values[p] / baseline[p] for p in values]))


def mfr(fps: Mapping[str, float], baseline: Mapping[str, float]) -> float:
    """Mean flip rate (percent): mean over perturbations of FP_p / FP_p^baseline."""
    return _normalised_mean(fps, baseline, "mFR")


def mt5d(t5ds: Mapping[str, float], baseline: Mapping[str, float]) -> float:
    """Mean top-5 distance (percent): mean over perturbations of T5D_p / T5D_p^baseline."""
    return _normalised_mean(t5ds, baseline, "mT5D")


for _name, _unit, _doc in [
    ("mfr", "%", "mean flip rate, FP normalised by the study's baseline run per perturbation"),
    ("mt5d", "%", "mean top-5 distance normalised by the study's baseline run per perturbation"),
    ("mean_fp", "%", "unnormalised mean flip probability over perturbations"),
    ("mean_t5d", "positions", "unnormalised mean top-5 distance over perturbations"),
]:
    add_metric(MetricInfo(_name, _unit, "bootstrap", _doc, __name__))
