"""The API process, once it has built its hub, tunes the garbage collector as the worker does."""

from __future__ import annotations

from typing import Any

import pytest

from exchange import gctune, telemetry
from exchange.api import app as app_module
from exchange.settings import Settings


class _Hub:
    async def close(self) -> None:
        return None


async def test_the_api_tunes_gc_after_building_its_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def build(_settings: Any) -> _Hub:
        calls.append("bootstrap")
        return _Hub()

    monkeypatch.setattr(app_module, "bootstrap", build)
    monkeypatch.setattr(gctune, "tune_after_start", lambda: calls.append("gc"))
    # this process's tracing is not the test's to change
    monkeypatch.setattr(telemetry, "configure", lambda *_args: None)
    monkeypatch.setattr(telemetry, "shutdown", lambda: None)
    api = app_module.create_app(Settings())
    async with api.router.lifespan_context(api):
        assert calls == ["bootstrap", "gc"]


async def test_an_app_given_a_hub_leaves_gc_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(gctune, "tune_after_start", lambda: calls.append("gc"))
    api = app_module.create_app(hub=_Hub())  # type: ignore[arg-type]
    async with api.router.lifespan_context(api):
        assert calls == []
