"""One home per piece of plumbing: atomic writes and the ImageNet-C variant codec."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shiftlab.atomic import atomic_path, write_bytes, write_csv, write_json
from shiftlab.errors import UserError
from shiftlab.variants import (
    c_variant,
    corruption_of,
    in_corruption,
    split_c_selector,
    split_c_variant,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "shiftlab"
# os.replace outside the atomic-write home only where a finished file or folder is *moved*
MOVES = {"atomic.py", "data/fetch.py", "train/loop.py", "data/mininet/write.py"}


def test_only_the_atomic_module_writes_through_a_temporary():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        text = path.read_text()
        if rel not in MOVES and re.search(r"os\.replace\(|\.tmp\b|mkstemp", text):
            offenders.append(rel)
    assert offenders == []


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out" / "table.csv"
    write_csv(pd.DataFrame({"a": [1, 2]}), target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a tab")
        raise RuntimeError("killed")
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.csv"]


def test_atomic_writers_give_the_expected_bytes(tmp_path):
    folders: set[Path] = set()
    write_bytes(tmp_path / "a" / "b.bin", b"\x00\x01", folders)
    assert (tmp_path / "a" / "b.bin").read_bytes() == b"\x00\x01"
    assert folders == {tmp_path / "a"}
    write_json(tmp_path / "x.json", {"b": 1, "a": [2]})
    assert (tmp_path / "x.json").read_text() == '{\n  "a": [\n    2\n  ],\n  "b": 1\n}\n'
    with atomic_path(tmp_path / "c.bin", fsync=True) as tmp:
        tmp.write_bytes(b"done")
    assert (tmp_path / "c.bin").read_bytes() == b"done"


def test_the_variant_codec_round_trips_and_names_the_form():
    assert c_variant("fog", 3) == "fog/3"
    assert split_c_variant("motion_blur/5") == ("motion_blur", 5)
    for bad in ("fog", "fog/x", "/3", "fog/"):
        with pytest.raises(UserError, match="<corruption>/<severity>"):
            split_c_variant(bad)
    assert split_c_selector("fog") == ("fog", None)
    assert split_c_selector("fog/2") == ("fog", "2")
    assert split_c_selector("") == (None, None)
    assert corruption_of("gaussian_noise/1") == "gaussian_noise"
    variants = np.array(["fog/1", "fog/5", "frost/1", "fogx/1"])
    assert in_corruption(variants, "fog").tolist() == [True, True, False, False]


RULES = Path(__file__).resolve().parents[2] / "workflow" / "rules"


def test_every_rule_logs_under_its_study_and_its_own_name():
    """`logs/<study>/<rule>/...`: `make clean-demo` (rm logs/demo) then clears every log."""
    found = {}
    for smk in sorted(RULES.glob("*.smk")):
        for rule, body in re.findall(
            r"^rule (\w+):\n(.*?)(?=^rule |\Z)", smk.read_text(), re.M | re.S
        ):
            log = re.search(r"^    log:\n\s+(.+)$", body, re.M)
            if log:
                found[rule] = log.group(1).strip().rstrip(",")
    assert len(found) >= 12
    wrong = {r: line for r, line in found.items() if not line.startswith(f'f"{{LOGS}}/{r}/')}
    assert wrong == {}
