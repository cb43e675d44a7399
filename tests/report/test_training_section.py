"""The fine-tuning table and curves from history files written by the training loop's writer."""

from pathlib import Path

import pandas as pd
import pytest

from shiftlab.metrics.corruption import VALIDATION_CORRUPTIONS
from shiftlab.report.figures import training_curves
from shiftlab.report.tables import Results
from shiftlab.report.training import read_histories, trained_corruptions, training_table
from shiftlab.train.loop import write_history


def _histories(tmp_path: Path) -> list[Path]:
    paths = []
    for run, acc in (("held", 0.4), ("leaky", 0.5)):
        path = tmp_path / "checkpoints" / run / "history.csv"
        rows = [{"epoch": e, "loss": 2.0 / e, "acc": acc * e / 3, "lr": 0.01, "images_per_s": 9.0,
                 "val_loss": 2.2 / e, "val_acc": acc * e / 4} for e in (1, 2, 3)]  # fmt: skip
        write_history(path, rows)
        paths.append(path)
    return paths


def test_table_says_what_each_run_trained_on_and_flags_test_corruptions(tmp_path):
    history = read_histories(_histories(tmp_path))
    recipes = {"held": {"base": "corruption_aug"},
               "leaky": {"base": "corruption_aug", "corruptions": ["gaussian_noise", "spatter"]}}  # fmt: skip
    table = training_table(history, recipes).set_index("run")
    assert table.loc["held", "corruptions trained on"] == ", ".join(VALIDATION_CORRUPTIONS)
    assert table.loc["held", "test corruptions"] == "held out"
    assert table.loc["leaky", "test corruptions"] == "TRAINED ON 1: mCE not held out"
    assert table.loc["leaky", "epochs"] == 3
    assert table.loc["leaky", "train acc %"] == pytest.approx(50.0)
    assert table.loc["held", "val acc %"] == pytest.approx(30.0)
    assert trained_corruptions({"base": "baseline"}) == ()


def test_training_curves_figure(tmp_path):
    results = Results(tmp_path, pd.DataFrame(), {}, read_histories(_histories(tmp_path)))
    path = training_curves(results, tmp_path / "curves.png")
    assert path is not None and path.stat().st_size > 5_000
    empty = Results(tmp_path, pd.DataFrame(), {})
    assert training_curves(empty, tmp_path / "none.png") is None
