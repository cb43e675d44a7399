"""Multi-process data parallel training via torchrun (DDP): NCCL on GPUs, gloo on CPUs.

`shiftlab train --nproc N` re-executes itself under `torch.distributed.run`; each worker
then sees RANK/WORLD_SIZE/LOCAL_RANK in its environment and joins the process group.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def in_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and "LOCAL_RANK" in os.environ


def launch_command(argv: list[str], nproc: int) -> list[str]:
    """`python -m shiftlab.cli <argv>` under torchrun with `nproc` local workers."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "--",
        "shiftlab.cli",
        *argv,
    ]  # "--": torchrun's parser would otherwise take e.g. `--run` for its `--run-path`


def setup(device: str) -> Dist:
    """Join the process group when started by torchrun; pick this process's device."""
    import torch

    from shiftlab.devices import resolve

    device = resolve(device)
    if not in_torchrun() or int(os.environ["WORLD_SIZE"]) == 1:
        return Dist(device=device)
    import torch.distributed as dist

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ["LOCAL_RANK"])
    if device == "cuda":
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return Dist(rank, world, local, device)


def teardown(d: Dist) -> None:
    if d.enabled:
        import torch.distributed as dist

        dist.destroy_process_group()


def any_true(d: Dist, flag: bool) -> bool:
    """True on every rank if any rank's flag is set (all ranks stop at the same step)."""
    if not d.enabled:
        return flag
    import torch
    import torch.distributed as dist

    t = torch.tensor([1 if flag else 0], device=d.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def sum_floats(d: Dist, values: list[float]) -> list[float]:
    """Element-wise sum over ranks (float64, so counts stay exact)."""
    if not d.enabled:
        return values
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=d.device)
    dist.all_reduce(t)
    return [float(x) for x in t.tolist()]


def barrier(d: Dist) -> None:
    if d.enabled:
        import torch.distributed as dist

        dist.barrier()


def broadcast_object(d: Dist, obj: Any) -> Any:
    if not d.enabled:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]
