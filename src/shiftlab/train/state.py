"""Resumable training state: everything needed to continue bit-identically.

Lives in the run's state directory, never as the rule's declared output (Snakemake deletes
a failed job's outputs, and a preempted job *is* a failed job). Written atomically, so a
kill at any instant leaves the previous state or the new one; read with weights_only=True.
A state that cannot be read is an error, never a silent restart from scratch.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np

from shiftlab.errors import UserError
from shiftlab.models.checkpoint import atomic_torch_save

FORMAT = "shiftlab-train-state/1"
STATE_FILE = "state.pt"


def rng_states() -> dict[str, Any]:
    """Python, numpy and torch (CPU + every CUDA device) RNG states, as weights_only-safe values."""
    import torch

    np_state = np.random.get_state(legacy=False)
    states: dict[str, Any] = {
        "python": _py_to_lists(random.getstate()),
        "numpy": {
            "bit_generator": np_state["bit_generator"],
            "key": torch.from_numpy(np.asarray(np_state["state"]["key"]).astype(np.int64)),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _py_to_lists(obj: Any) -> Any:
    return [_py_to_lists(x) for x in obj] if isinstance(obj, tuple | list) else obj


def set_rng_states(states: dict[str, Any]) -> None:
    import torch

    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    n = states["numpy"]
    np.random.set_state(
        {
            "bit_generator": n["bit_generator"],
            "state": {"key": n["key"].numpy().astype(np.uint32), "pos": n["pos"]},
            "has_gauss": n["has_gauss"],
            "gauss": n["gauss"],
        }
    )
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def state_path(state_dir: str | Path) -> Path:
    return Path(state_dir) / STATE_FILE


def save_state(state_dir: str | Path, state: dict[str, Any]) -> Path:
    path = state_path(state_dir)
    atomic_torch_save({"format": FORMAT, **state}, path)
    return path


def load_state(state_dir: str | Path) -> dict[str, Any] | None:
    """The saved state, None when there is none; a damaged one raises UserError."""
    import torch

    path = state_path(state_dir)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated zip, bad pickle, ...
        raise UserError(
            f"resume state {path} is corrupt ({type(exc).__name__}); refusing to restart from "
            f"scratch silently - delete {path} to start this run over"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UserError(f"resume state {path} is not a {FORMAT} file; delete it to start over")
    return state
