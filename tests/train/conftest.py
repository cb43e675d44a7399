"""Fixtures for the training tests (helpers live in train_helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from train_helpers import make_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_world(tmp_path_factory.mktemp("world"), per_class=8)
