"""Record a finished study with DVC, from the head node only.

Snakemake orchestrates and DVC records: after a successful run, `dvc commit` stores the
hashes of the study's outputs in dvc.lock, so `dvc status` is clean, `dvc push` shares the
data and results, and `dvc metrics diff` shows how the headline numbers moved. DVC is never
called from inside a job (concurrent dvc commands on the same paths fail at once).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

log = logging.getLogger(__name__)


def record_outputs(workdir: str | Path = ".", enabled: bool = True) -> bool:
    """`dvc commit` the study stage when the working directory is a DVC project.

    Returns True when DVC recorded the outputs; a missing project is not an error (tests
    and ad-hoc runs work in plain folders), a failing `dvc commit` is reported loudly.
    """
    root = Path(workdir)
    if not enabled or not (root / ".dvc").is_dir() or not (root / "dvc.yaml").is_file():
        return False
    dvc = shutil.which("dvc")
    if dvc is None:
        log.warning("dvc.yaml present but the `dvc` command is not installed: outputs not recorded")
        return False
    proc = subprocess.run(
        [dvc, "commit", "--force", "--quiet"], cwd=root, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"dvc commit failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
        )
    return True
