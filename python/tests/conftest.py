"""Shared fixtures: the repository root and the CLI binary built by `cargo build --release`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def cli() -> Path:
    """The command line of the same checkout (GARDENGATE_BIN overrides)."""
    p = Path(os.environ.get("GARDENGATE_BIN", ROOT / "target" / "release" / "gardengate"))
    if not p.is_file():
        pytest.skip(f"{p} not built (cargo build --release)")
    return p
