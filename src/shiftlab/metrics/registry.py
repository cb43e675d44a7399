"""Registry of the metrics shiftlab reports: name -> unit, interval method, definition.

The tidy metrics CSV has no room for units or interval methods, so they live here (and in
the provenance sidecar of every metrics CSV). Same shape as timm's model registry: a
decorator registers by name and warns on duplicates; `list_metrics` takes a wildcard.
"""

from __future__ import annotations

import fnmatch
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

F = TypeVar("F", bound=Callable)


@dataclass(frozen=True)
class MetricInfo:
    """What a metric name in the CSV means.

    `name` may end in `/*` for families such as `class_acc/<wnid>`; `interval` names the
    95 % interval method ('clopper-pearson', 'bootstrap', or 'none').
    """

    name: str
    unit: str
    interval: str
    doc: str
    function: str = ""


_METRICS: dict[str, MetricInfo] = {}


def register_metric(name: str, *, unit: str, interval: str, doc: str) -> Callable[[F], F]:
    """Decorator: register the CSV metric `name` as computed by the decorated function."""

    def wrap(fn: F) -> F:
        add_metric(MetricInfo(name, unit, interval, doc, f"{fn.__module__}.{fn.__qualname__}"))
        return fn

    return wrap


def add_metric(info: MetricInfo) -> None:
    """Register a metric that is not one pure function (e.g. a CE normalised by a baseline)."""
    if info.name in _METRICS:
        warnings.warn(f"metric {info.name!r} registered twice; keeping the last", stacklevel=3)
    _METRICS[info.name] = info


def list_metrics(pattern: str = "*") -> list[str]:
    """Registered metric names matching a shell-style wildcard, sorted."""
    return sorted(n for n in _METRICS if fnmatch.fnmatchcase(n, pattern))


def get_metric(name: str) -> MetricInfo:
    """Info for a CSV metric name; `class_acc/n01440764` resolves to the `class_acc/*` family."""
    if name in _METRICS:
        return _METRICS[name]
    family = name.split("/", 1)[0] + "/*"
    if family in _METRICS:
        return _METRICS[family]
    raise KeyError(f"unknown metric {name!r}; known: {', '.join(list_metrics())}")
