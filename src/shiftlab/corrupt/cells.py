"""What to make from one image: corruption settings, output cells, and the pixels of each.

One function, ``corrupt_cells``, turns a decoded image into every requested *cell*
(corruption x severity, perturbation sequence, or transform variant); materialization
(``materialize``) writes its outputs to disk, and on-the-fly evaluation calls the same
function and feeds the arrays to the model, so both see the same pixels (before JPEG/H.264
encoding).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shiftlab.errors import UserError
from shiftlab.variants import c_variant, split_c_variant

KINDS = ("c", "p", "t")
FORMATS = {"jpeg": ".JPEG", "png": ".png"}


# ---- settings (the config's `corruptions` entry, passed as --params-json) -------------------


@dataclass(frozen=True)
class Settings:
    """What to materialize. Missing keys mean "all" or the documented default.

    ``resize``/``crop``: frame geometry before corrupting. Default for kind c with
    ``params: imagenet``: short side 256, centre crop 224 (make_imagenet_c.py); kind p uses
    the ImageNet-P geometry of its parameter set (see ``sequences.resolve_geometry``);
    otherwise images keep their native size.
    """

    params: str = "auto"
    names: tuple[str, ...] | None = None
    severities: tuple[int, ...] = (1, 2, 3, 4, 5)
    perturbations: tuple[str, ...] | None = None
    difficulty: tuple[int, ...] = (1,)
    transforms: Any = None
    jpeg_quality: int = 85
    resize: int | None = None
    crop: int | None = None
    x264_preset: str = "veryslow"
    pix_fmt: str = "yuv420p"  # or yuv444p (see video.py)
    # accepted so the whole `corruptions` config entry can be passed through
    shards: int | None = field(default=None, compare=False)


_SETTING_KEYS = tuple(Settings.__dataclass_fields__)


def parse_settings(raw: Mapping[str, Any] | str | Settings | None) -> Settings:
    """Validate a params dict (or a param-set name) into ``Settings``; errors name the key."""
    from shiftlab.corrupt import PARAM_CHOICES, SEVERITIES

    if isinstance(raw, Settings):
        return raw
    if raw is None:
        raw = {}
    if isinstance(raw, str):
        raw = {"params": raw}
    unknown = sorted(set(raw) - set(_SETTING_KEYS))
    if unknown:
        raise UserError(
            f"corruption settings: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_SETTING_KEYS)}"
        )
    values = dict(raw)
    if values.get("params", "auto") not in PARAM_CHOICES:
        raise UserError(
            f"corruption settings: params={values['params']!r}; allowed: {', '.join(PARAM_CHOICES)}"
        )
    for key in ("names", "perturbations"):
        if values.get(key) is not None:
            if isinstance(values[key], str) or not isinstance(values[key], Iterable):
                raise UserError(
                    f"corruption settings: {key} must be a list of names, got {values[key]!r}"
                )
            values[key] = tuple(values[key])
    for key, allowed in (("severities", SEVERITIES), ("difficulty", (1, 2, 3))):
        if key in values:
            value = values[key]
            value = (value,) if isinstance(value, int) else tuple(value)
            bad = [v for v in value if v not in allowed or isinstance(v, bool)]
            if bad or not value:
                raise UserError(
                    f"corruption settings: {key}={values[key]!r}; allowed values: {list(allowed)}"
                )
            values[key] = value
    if values.get("pix_fmt", "yuv420p") not in ("yuv420p", "yuv444p"):
        raise UserError(
            f"corruption settings: pix_fmt={values['pix_fmt']!r}; allowed: yuv420p, yuv444p"
        )
    quality = values.get("jpeg_quality", 85)
    if not isinstance(quality, int) or not 1 <= quality <= 100:
        raise UserError(f"corruption settings: jpeg_quality={quality!r}; allowed: an integer 1-100")
    return Settings(**values)


# ---- cells ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One output per source image: (kind, name, level). ``level`` is the severity (c),
    the difficulty (p) or 0 (t, where ``name`` is the variant, e.g. ``crop_shift_3``)."""

    kind: str
    name: str
    level: int = 0

    @property
    def variant(self) -> str:
        if self.kind == "c":
            return c_variant(self.name, self.level)
        if self.kind == "p":
            from shiftlab.corrupt.sequences import folder_name

            return folder_name(self.name, self.level)
        return self.name

    def seed(self, study_seed: int, sample: str) -> int:
        from shiftlab.corrupt import image_seed

        return image_seed(study_seed, sample, self.name, self.level)

    def relpath(self, wnid: str, stem: str, fmt: str = "jpeg") -> str:
        ext = ".mp4" if self.kind == "p" else FORMATS[fmt]
        return f"{self.variant}/{wnid}/{stem}{ext}"


def parse_cell(kind: str, variant: str) -> Cell:
    """Inverse of ``Cell.variant``: ``"fog/3"`` (c), ``"shot_noise_2"`` (p), ``"zoom"`` (t)."""
    _check_kind(kind)
    if kind == "c":
        name, severity = split_c_variant(variant)
        from shiftlab.corrupt import check_severity, get_corruption

        get_corruption(name)
        return Cell("c", name, check_severity(severity))
    if kind == "p":
        from shiftlab.corrupt.sequences import parse_folder

        name, difficulty = parse_folder(variant)
        return Cell("p", name, difficulty)
    from shiftlab.corrupt.transforms import parse_variant

    parse_variant(variant)
    return Cell("t", variant, 0)


def plan_cells(kind: str, settings: Settings | Mapping[str, Any] | None = None) -> list[Cell]:
    """Every cell a settings object asks for, in a fixed order."""
    from shiftlab.corrupt import get_corruption, names
    from shiftlab.corrupt.sequences import get_perturbation, list_perturbations
    from shiftlab.corrupt.transforms import transform_variants

    _check_kind(kind)
    settings = parse_settings(settings)
    if kind == "c":
        chosen = settings.names if settings.names is not None else tuple(names())
        for name in chosen:
            get_corruption(name)
        return [Cell("c", n, s) for n in chosen for s in settings.severities]
    if kind == "p":
        chosen = (
            settings.perturbations
            if settings.perturbations is not None
            else tuple(list_perturbations())
        )
        cells = []
        for name in chosen:
            noise = get_perturbation(name).noise
            # non-noise difficulty is a frame stride at evaluation: one sequence serves all
            levels = settings.difficulty if noise else (1,)
            cells += [Cell("p", name, d) for d in levels]
        return cells
    return [Cell("t", v, 0) for v in transform_variants(settings.transforms)]


def _check_kind(kind: str) -> None:
    """Fail early, naming the allowed kinds, before any cell is parsed or planned."""
    if kind not in KINDS:
        raise UserError(f"unknown corruption kind {kind!r}; allowed: {', '.join(KINDS)}")


def prepare_image(image: np.ndarray, kind: str, settings: Settings) -> np.ndarray:
    """Frame geometry applied before kind c/t cells (kind p handles its own)."""
    from shiftlab.corrupt.image_geometry import center_crop, resize_short_side

    resize, crop = settings.resize, settings.crop
    if kind == "c" and settings.params == "imagenet" and resize is None and crop is None:
        resize, crop = 256, 224  # make_imagenet_c.py: Resize(256) + CenterCrop(224)
    if resize is not None:
        image = resize_short_side(image, int(resize))
    if crop is not None:
        image = np.ascontiguousarray(center_crop(image, int(crop)))
    return image


def corrupt_cells(
    image: np.ndarray,
    sample: str,
    cells: Iterable[Cell | str],
    study_seed: int,
    params: Settings | Mapping[str, Any] | str | None = "auto",
    kind: str = "c",
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (variant, uint8 pixels) for each cell of one decoded RGB image.

    ``cells`` are ``Cell`` objects or variant strings of ``kind``. Kind c/t yield H x W x 3
    images, kind p yields (frames, H, W, 3) sequences. The pixels are exactly what
    ``materialize`` encodes, so on-the-fly evaluation matches the written dataset up to
    the lossy encoding.
    """
    from shiftlab.corrupt import apply
    from shiftlab.corrupt.sequences import make_sequence
    from shiftlab.corrupt.transforms import apply_transform

    settings = parse_settings(params)
    prepared: dict[str, np.ndarray] = {}
    for cell in cells:
        if isinstance(cell, str):
            cell = parse_cell(kind, cell)
        seed = cell.seed(study_seed, sample)
        if cell.kind == "p":
            out = make_sequence(
                image, cell.name, cell.level, seed, settings.params, settings.resize, settings.crop
            )
        else:
            if cell.kind not in prepared:
                prepared[cell.kind] = prepare_image(image, cell.kind, settings)
            base = prepared[cell.kind]
            if cell.kind == "c":
                out = apply(base, cell.name, cell.level, seed, settings.params)
            else:
                out = apply_transform(base, cell.name, seed, settings.transforms)
        yield cell.variant, out
