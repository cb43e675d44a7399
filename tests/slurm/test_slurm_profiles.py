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
TEST_CLUSTER = ROOT / "profiles" / "test-cluster" / "config.yaml"


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
    for path in (SITE, TEST_CLUSTER):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if re.match(r"^\s*[\w-]+:", line):  # a key (commented-out keys start with '#')
                above = lines[i - 1].strip() if i else ""
                assert above.startswith("#") or line.rstrip().endswith(":"), (
                    f"{path} line {i + 1} has no comment: {line!r}"
                )


def test_workflow_profile_leaves_site_defaults_alone():
    # A workflow profile's default-resources would replace the site's as a whole, dropping
    # slurm_partition and slurm_account.
    assert "default-resources" not in load(WORKFLOW)


def test_workflow_profile_sets_no_per_rule_resources():
    # The rules declare them (shiftlab.jobs): a workflow profile's set-resources would win
    # over the site profile's as a whole, so a site could not route rules.
    assert "set-resources" not in load(WORKFLOW) and "set-threads" not in load(WORKFLOW)


def test_site_profiles_put_the_gpu_rules_on_a_gpu_partition():
    site, test_cluster = load(SITE)["set-resources"], load(TEST_CLUSTER)["set-resources"]
    for rule in ("train", "predict"):
        assert site[rule]["gpu"] >= 1
        assert test_cluster[rule]["slurm_partition"] == "gpu"  # tools/slurm-local.sh
    assert load(TEST_CLUSTER)["default-resources"]["slurm_partition"] == "debug"


def test_training_asks_for_a_warning_signal():
    for profile in (SITE, TEST_CLUSTER):
        extra = load(profile)["set-resources"]["train"]["slurm_extra"]
        # A Python expression: the quoted string it evaluates to goes to sbatch.
        value = eval(extra)  # noqa: S307 - our own profile
        match = re.fullmatch(r"--signal=(B:)?USR1@(\d+)", value)
        assert match, value
        # Not only to the batch shell: the training process must get it.
        assert match.group(1) is None


def test_literal_profile_name_resolves_from_the_repository_root(monkeypatch):
    """`snakemake --profile slurm` from the root: Snakemake's own lookup finds ./slurm."""
    from snakemake.cli import get_profile_dir

    monkeypatch.chdir(ROOT)
    found = get_profile_dir("slurm")
    assert found is not None, "no ./slurm profile at the repository root"
    assert found[1].resolve() == SITE.resolve()


def test_site_settings_come_from_the_environment():
    site = load(SITE)
    assert site["default-resources"]["slurm_partition"] == "$SHIFTLAB_SLURM_PARTITION"
    assert site["default-resources"]["slurm_account"] == "$SHIFTLAB_SLURM_ACCOUNT"
    for rule in ("train", "predict"):
        assert site["set-resources"][rule]["slurm_partition"] == "$SHIFTLAB_SLURM_GPU_PARTITION"


def test_unset_site_variables_fall_back_to_the_cluster_defaults():
    from shiftlab.cluster import apply_site_defaults

    env: dict[str, str] = {}
    apply_site_defaults(env)
    assert env == {"SHIFTLAB_SLURM_PARTITION": "", "SHIFTLAB_SLURM_ACCOUNT": "",
                   "SHIFTLAB_SLURM_GPU_PARTITION": ""}  # fmt: skip
    env = {"SHIFTLAB_SLURM_PARTITION": "cpu"}
    apply_site_defaults(env)
    assert env["SHIFTLAB_SLURM_GPU_PARTITION"] == "cpu"  # GPU rules follow the site default


def test_requested_partitions_and_the_unknown_partition_message():
    import pytest

    from shiftlab.cluster import check_partitions, requested_partitions
    from shiftlab.errors import UserError

    class Res:  # what Snakemake keeps of a --set-resources value
        raw = "'bigmem'"

    env = {"SHIFTLAB_SLURM_PARTITION": "cpu", "SHIFTLAB_SLURM_GPU_PARTITION": "gpu"}
    found = requested_partitions(
        ["mem_mb=1000", "slurm_partition='$SHIFTLAB_SLURM_PARTITION'"],
        {"aggregate": {"slurm_partition": Res()}, "train": {"mem_mb": Res()}},
        env,
    )
    assert found == {"cpu": "$SHIFTLAB_SLURM_PARTITION", "gpu": "$SHIFTLAB_SLURM_GPU_PARTITION",
                     "bigmem": "set-resources of rule aggregate"}  # fmt: skip
    check_partitions(found, ["bigmem", "cpu", "gpu"])  # all known: no error
    with pytest.raises(UserError) as err:
        check_partitions(found, ["cpu", "debug"])
    message = str(err.value)
    assert "SLURM partition 'gpu' (from $SHIFTLAB_SLURM_GPU_PARTITION) does not exist" in message
    assert "'bigmem' (from set-resources of rule aggregate)" in message
    assert "sinfo lists: cpu, debug" in message
