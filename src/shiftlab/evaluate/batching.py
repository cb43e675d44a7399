"""Batches of a dataset, prepared ahead of the forward pass: on a background thread for a
CPU run, in DataLoader worker processes for a GPU run.

Why two ways: a worker process is forked from a parent that maps the whole torch build,
and its start and exit cost ~40 ms per job, half of a small CPU job's start-up, on top of
a shared-memory hand-over per batch. On the CPU one thread keeps ahead of the forward:
JPEG decoding and tensor arithmetic release the GIL, and a 224-px image decodes in
~0.3 ms while a CPU forward spends milliseconds on it. A GPU consumes images far faster
than one thread decodes them, so it keeps `workers` processes and pinned memory.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, default_collate

# Batches a loader may hold ready ahead of the forward pass.
AHEAD = 2


def start_batches(
    data: Dataset,
    batch_size: int,
    device: torch.device,
    workers: int,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    pin_memory: bool = False,
) -> Iterator[Any]:
    """Start preparing the batches of ``data`` in order; returns their iterator."""
    if device.type == "cpu":
        return background_batches(data, batch_size, collate_fn or default_collate)
    loader = DataLoader(
        data,
        batch_size=batch_size,
        num_workers=workers,
        shuffle=False,
        collate_fn=collate_fn,
        pin_memory=pin_memory,
        prefetch_factor=AHEAD if workers else None,
    )
    return iter(loader)


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


_END = object()


class Background:
    """The items of an iterable, produced in order by one daemon thread up to ``AHEAD``
    items ahead of the consumer. An error raised while producing an item is raised by the
    iterator, with its own type and message; finishing, abandoning or dropping the
    iterator stops the thread."""

    def __init__(self, items: Iterable[Any], length: int | None = None):
        self._length = length
        self._queue: queue.Queue = queue.Queue(maxsize=AHEAD)
        self._stop = threading.Event()
        # the thread holds the queue and the event, not this object, so dropping the
        # iterator unused still reaches __del__ and stops it
        self._thread = threading.Thread(
            target=_produce,
            args=(items, self._queue, self._stop),
            name="background-items",
            daemon=True,
        )
        self._thread.start()

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError("this background iterator has no known length")
        return self._length

    def __iter__(self) -> Iterator[Any]:
        try:
            while True:
                item = self._queue.get()
                if item is _END:
                    return
                if isinstance(item, _Failed):
                    raise item.exc
                yield item
        finally:
            self._stop.set()

    def __del__(self) -> None:
        self._stop.set()


def batches_of(
    data: Dataset, batch_size: int, collate_fn: Callable[[list[Any]], Any] = list
) -> Iterator[Any]:
    """The batches of ``data`` in order (what a DataLoader without shuffling yields),
    built by whichever thread iterates."""
    size, n = max(1, batch_size), len(data)
    for start in range(0, n, size):
        yield collate_fn([data[i] for i in range(start, min(n, start + size))])


def background_batches(
    data: Dataset, batch_size: int, collate_fn: Callable[[list[Any]], Any]
) -> Background:
    """The batches of ``data`` in order, built on a background thread."""
    count = -(-len(data) // max(1, batch_size))
    return Background(batches_of(data, batch_size, collate_fn), count)


def _produce(items: Iterable[Any], out: queue.Queue, stop: threading.Event) -> None:
    try:
        for item in items:
            if not _put(out, item, stop):
                return
    except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread
        _put(out, _Failed(exc), stop)
        return
    _put(out, _END, stop)


def _put(out: queue.Queue, item: Any, stop: threading.Event) -> bool:
    """Queue ``item`` unless the consumer has gone; False once it has."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False
