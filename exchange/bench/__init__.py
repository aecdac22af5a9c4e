"""``exchange bench``: the hub measured against the physical ceiling of the machine it runs on.

Workloads (each on real Kafka and PostgreSQL, with the hub's own processes): ingest (HTTP POST
to ``exchange serve`` up to the 202), pipeline (Kafka -> ``exchange worker`` consumers ->
deliveries), end to end (police POST until the CMS pull returns the case), replay (parked
failures re-published through the outbox) and, on request, worker memory with a backlog.
Baselines from the same run: raw aiokafka produce / consume / passthrough and lxml + XSD.
See docs/performance.md.
"""

from exchange.bench.common import BenchConfig
from exchange.bench.report import LATENCY_FIELDS, RESULT_FIELDS, TARGET_FIELDS, Report, Result

__all__ = ["LATENCY_FIELDS", "RESULT_FIELDS", "TARGET_FIELDS", "BenchConfig", "Report", "Result"]
