"""A live one-node SLURM cluster for the SLURM tests, started once per test session.

tools/slurm-local.sh installs the Debian packages when they are missing and starts munge,
MariaDB, slurmdbd, slurmctld and slurmd on localhost. If that is impossible (not root, no
apt, a daemon that will not start) the tests fail with the reason: a CI that cannot run
SLURM must not look green.

Set SHIFTLAB_SLURM_KEEP=1 to leave the cluster running after the session (faster reruns;
a cluster that was already up is reused and never stopped).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "slurm-local.sh"
# Room for the workflow profile's requests (8 threads for training, 2 x 32 GB at attempt 2)
# on any machine: slurmd runs with config_overrides, so the node may claim more than it has.
# Two fake GPUs make GPU requests schedulable (CUDA stays unused).
NODE = {"NODE_CPUS": "8", "NODE_GPUS": "2", "NODE_MEM_MB": "64000"}
DAEMONS = ("munged", "mariadbd", "slurmdbd", "slurmctld", "slurmd", "sbatch", "sacct")


def _quiet(*cmd: str, timeout: float = 15) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def _cluster_state() -> str | None:
    """None when a usable cluster answers, else what is missing."""
    if not shutil.which("sinfo"):
        return "no SLURM client"
    try:
        if _quiet("scontrol", "ping", timeout=10).returncode != 0:
            return "slurmctld does not answer"
        node = _quiet("sinfo", "-h", "-N", "-o", "%c %G %t").stdout.split()
        if len(node) < 3 or node[2] not in ("idle", "mix", "alloc"):
            return f"node not ready: {' '.join(node)}"
        if int(node[0]) < int(NODE["NODE_CPUS"]) or f"gpu:{NODE['NODE_GPUS']}" not in node[1]:
            return f"node has {node[0]} CPUs and gres {node[1]}; the tests need {NODE}"
        if _quiet("sacct", "-n", "-X", "-S", "now-1minutes").returncode != 0:
            return "sacct fails (no accounting): restart with `tools/slurm-local.sh up full`"
    except (subprocess.TimeoutExpired, ValueError) as exc:
        return f"cluster check failed: {exc}"
    return None


def _up() -> float:
    env = dict(os.environ, **NODE)
    if all(shutil.which(d) or Path("/usr/sbin", d).exists() for d in DAEMONS):
        env["SKIP_APT"] = "1"  # apt-get update alone costs tens of seconds
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            ["bash", str(SCRIPT), "up", "full"],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"tools/slurm-local.sh up full timed out after {exc.timeout} s", pytrace=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        logs = ""
        for name in ("slurmctld.log", "slurmd.log", "slurmdbd.log"):
            log = Path("/var/log/slurm", name)
            if log.exists():
                logs += f"\n--- {log} (tail)\n" + "\n".join(log.read_text().splitlines()[-10:])
        pytest.fail(
            f"could not start the local SLURM cluster (exit {proc.returncode}):\n{tail}{logs}",
            pytrace=False,
        )
    return time.monotonic() - t0


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running cluster with accounting (sacct) and fake GPUs; yields its start time in s."""
    if _cluster_state() is None:
        yield 0.0
        return
    if os.geteuid() != 0:
        pytest.fail(
            "the SLURM tests start a local cluster with tools/slurm-local.sh and need "
            f"root; running as uid {os.geteuid()}: {_cluster_state()}",
            pytrace=False,
        )
    if not shutil.which("apt-get") and not shutil.which("slurmctld"):
        pytest.fail(
            "no SLURM packages and no apt-get to install them (Debian/Ubuntu needed)", pytrace=False
        )
    seconds = _up()
    problem = _cluster_state()
    if problem:
        pytest.fail(f"SLURM cluster started but is not usable: {problem}", pytrace=False)
    print(f"\nlocal SLURM cluster up in {seconds:.0f} s", file=sys.stderr)
    yield seconds
    if os.environ.get("SHIFTLAB_SLURM_KEEP") != "1":
        subprocess.run(["bash", str(SCRIPT), "down"], capture_output=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def slurm_env(slurm_cluster) -> dict[str, str]:
    """Environment for snakemake: jobs call `shiftlab` from this venv (shared filesystem)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("SNAKEMAKE_PROFILE", None)  # only the profiles a test names
    return env
