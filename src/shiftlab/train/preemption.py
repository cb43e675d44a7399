"""Preemption: the signals a scheduler sends before killing a job, as a flag to poll.

The training loop checks the flag between optimizer steps and saves its state there, so a
preempted run stops at a consistent point and resumes bit-identically.
"""

from __future__ import annotations

import signal
from typing import Any


class Preemption:
    """Turns SIGTERM/SIGUSR1 (what SLURM sends before a kill) into a flag the loop polls
    between optimizer steps, so the state is saved at a consistent point."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> Preemption:
        for sig in (signal.SIGTERM, signal.SIGUSR1):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        self.signal = signum

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
