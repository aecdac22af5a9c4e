"""Fixtures for conformance tests over the published standards and real samples in
``../shared`` (or ``$EXCHANGE_SHARED_DIR``). Tests skip cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def shared_dir() -> Path:
    """Where the published schemas and samples live (never copied into the repository)."""
    default = Path(__file__).resolve().parents[2].parent / "shared"
    return Path(os.environ.get("EXCHANGE_SHARED_DIR", default))


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    if not (path / "standards").is_dir() or not (path / "samples").is_dir():
        pytest.skip(f"shared standards and samples not found at {path}")
    return path
