"""Batches prepared on a background thread (CPU runs): order, errors, stopping."""

from __future__ import annotations

import threading
import time

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from shiftlab.errors import UserError
from shiftlab.evaluate.batching import Background, background_batches, start_batches


class Squares(Dataset):
    def __init__(self, n: int, broken: int | None = None):
        self.n, self.broken, self.served = n, broken, []

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        if i == self.broken:
            raise UserError(f"img{i}.JPEG: cannot decode image (truncated)")
        self.served.append(i)
        return torch.tensor([i, i * i]), i


def test_same_batches_as_a_dataloader():
    data = Squares(23)
    ours = list(start_batches(data, 5, torch.device("cpu"), workers=1))
    reference = list(DataLoader(data, batch_size=5, shuffle=False))
    assert len(ours) == len(reference) == len(background_batches(data, 5, list)) == 5
    for (x, i), (y, j) in zip(ours, reference, strict=True):
        assert torch.equal(x, y) and torch.equal(i, j)


def test_an_error_reaches_the_consumer_with_its_type_and_message():
    batches = iter(background_batches(Squares(20, broken=12), 4, list))
    got = [next(batches) for _ in range(3)]  # rows 0..11 are fine
    assert [row for batch in got for _, row in batch] == list(range(12))
    with pytest.raises(UserError, match=r"img12.JPEG: cannot decode image"):
        next(batches)


def test_abandoned_batches_stop_their_thread():
    data = Squares(10_000)
    batches = background_batches(data, 10, list)
    first = next(iter(batches))
    assert len(first) == 10
    thread = batches._thread
    del batches, first
    thread.join(timeout=5)
    assert not thread.is_alive()
    # it stopped a few batches ahead, not after preparing all 1,000
    assert len(data.served) < 100


def test_unused_batches_stop_their_thread():
    before = threading.active_count()
    batches = background_batches(Squares(10_000), 10, list)
    thread = batches._thread
    del batches  # never iterated, e.g. the model failed to load
    thread.join(timeout=5)
    assert not thread.is_alive()
    time.sleep(0)
    assert threading.active_count() <= before


def test_any_iterable_in_order_and_its_length():
    produced = Background((i * i for i in range(50)), length=50)
    assert len(produced) == 50 and list(produced) == [i * i for i in range(50)]
    with pytest.raises(TypeError, match="no known length"):
        len(Background(iter(())))
