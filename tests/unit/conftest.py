"""Fixtures shared by the tracing unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from exchange.bench.messages import CanonicalFactory
from tests.support.tracing import memory_spans


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span ended during the test, in memory."""
    with memory_spans() as exporter:
        yield exporter


@pytest.fixture(scope="module")
def factory() -> CanonicalFactory:
    """Canonical case-file records as the relay publishes them."""
    return CanonicalFactory(pool_size=2)
