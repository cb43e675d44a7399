"""The report's fine-tuning section: training curves, and what each recipe trained on.

A corruption-augmented run's mCE is a held-out number only if it never trained on the test
corruptions; the table says which corruptions each run saw and flags test-set overlap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from shiftlab.metrics.corruption import ALL_CORRUPTIONS, TEST_CORRUPTIONS, VALIDATION_CORRUPTIONS

# The corruption names a recipe's `corruptions` setting stands for (train/augment.py).
CORRUPTION_SPLITS = {"all": ALL_CORRUPTIONS, "test": TEST_CORRUPTIONS,
                     "validation": VALIDATION_CORRUPTIONS}  # fmt: skip


def read_histories(paths: list[str | Path]) -> pd.DataFrame:
    """history.csv of each fine-tuned run (results/<study>/checkpoints/<run>/history.csv)."""
    frames = []
    for path in map(Path, paths):
        if path.is_file() and path.stat().st_size:
            frames.append(pd.read_csv(path).assign(run=path.parent.name))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def trained_corruptions(recipe: dict[str, Any]) -> tuple[str, ...]:
    """Corruption names a recipe entry trains on (empty for recipes without corruptions)."""
    if recipe.get("base") != "corruption_aug" and "corruptions" not in recipe:
        return ()
    requested = list(recipe.get("corruptions") or ["validation"])
    if len(requested) == 1 and requested[0] in CORRUPTION_SPLITS:
        return CORRUPTION_SPLITS[requested[0]]
    return tuple(requested)


def training_table(history: pd.DataFrame, recipes: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per fine-tuned run: recipe, last epoch's numbers, corruptions trained on."""
    rows = []
    for run, recipe in recipes.items():
        part = history[history["run"] == run] if not history.empty else history
        last = part.sort_values("epoch").iloc[-1] if not part.empty else pd.Series(dtype=object)
        seen = trained_corruptions(recipe)
        overlap = [c for c in seen if c in TEST_CORRUPTIONS]
        rows.append({
            "run": run,
            "recipe": recipe.get("base", ""),
            "epochs": int(last["epoch"]) if "epoch" in last else 0,
            "train loss": last.get("loss"),
            "train acc %": 100 * float(last["acc"]) if pd.notna(last.get("acc")) else None,
            "val acc %": 100 * float(last["val_acc"]) if pd.notna(last.get("val_acc")) else None,
            "corruptions trained on": ", ".join(seen) if seen else "none",
            "test corruptions": (f"TRAINED ON {len(overlap)}: mCE not held out" if overlap
                                 else "held out" if seen else ""),
        })  # fmt: skip
    return pd.DataFrame(rows)
