"""The SLURM profiles as files: what users copy must be complete and accepted by the plugin.

No cluster needed: these run everywhere, the live tests are in test_slurm_workflow.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "profiles" / "slurm" / "config.yaml"
WORKFLOW = ROOT / "workflow" / "profiles" / "default" / "config.yaml"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_site_profile_submits_to_slurm_and_retries():
    site = load(SITE)
    assert site["executor"] == "slurm"
    assert site["retries"] >= 1
    assert site["rerun-incomplete"] is True
    assert {"slurm_partition", "mem_mb", "runtime"} <= set(site["default-resources"])
    # One wait per job otherwise: the plugin's default first check is after 40 s.
    assert site["slurm-init-seconds-before-status-checks"] <= 40


def test_every_site_profile_entry_is_commented():
    lines = SITE.read_text().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^\s*[\w-]+:", line):  # a key (commented-out keys start with '#')
            above = lines[i - 1].strip() if i else ""
            assert above.startswith("#") or line.rstrip().endswith(":"), (
                f"profiles/slurm/config.yaml line {i + 1} has no comment: {line!r}"
            )


def test_workflow_profile_leaves_site_defaults_alone():
    # A workflow profile's default-resources would replace the site's as a whole, dropping
    # slurm_partition and slurm_account.
    assert "default-resources" not in load(WORKFLOW)


def test_resources_grow_with_attempt():
    res = load(WORKFLOW)["set-resources"]
    for rule in ("train", "predict", "corrupt_shard", "aggregate"):
        assert "attempt" in str(res[rule]["mem_mb"]), rule
        assert "attempt" in str(res[rule]["runtime"]), rule
    assert res["train"]["gpu"] >= 1 and res["predict"]["gpu"] >= 1


def test_training_asks_for_a_warning_signal():
    extra = load(WORKFLOW)["set-resources"]["train"]["slurm_extra"]
    # A Python expression: the quoted string it evaluates to goes to sbatch.
    value = eval(extra)  # noqa: S307 - our own profile
    match = re.fullmatch(r"--signal=(B:)?USR1@(\d+)", value)
    assert match, value
    # Not only to the batch shell: the training process must get it.
    assert match.group(1) is None
