"""The benchmark itself works: every workload runs for a few seconds on tiny counts against
the session's real Kafka and PostgreSQL, and the report has every field. Timings are not
checked here (they belong to `make bench` and docs/performance.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exchange.bench import LATENCY_FIELDS, RESULT_FIELDS, TARGET_FIELDS, BenchConfig
from exchange.bench.cli import bench_app
from exchange.bench.env import BenchEnv
from exchange.bench.messages import CanonicalFactory, asn, new_case, ptiurn
from exchange.bench.runner import run_bench
from exchange.domain.identifiers import parse_asn, validate_asn, validate_ptiurn
from exchange.validation import validate_document
from tests.conftest import TEST_RUN_DIR, Services

EXPECTED_ROWS = {
    "baseline.kafka_produce",
    "baseline.kafka_passthrough",
    "baseline.kafka_consume",
    "baseline.xsd",
    "baseline.ingest_cpu",
    "ingest.max",
    "ingest.max_lean",
    "ingest.rate50",
    "pipeline.drain",
    "pipeline.rate50",
    "e2e.rate40",
    "replay",
    "backlog",
}
TARGETED = {
    "ingest.max",
    "ingest.max_lean",
    "ingest.rate50",
    "pipeline.drain",
    "e2e.rate40",
    "replay",
    "backlog",
}


def test_generated_cases_are_real_sized_valid_and_unique() -> None:
    docs = [new_case(i) for i in range(40)]
    assert len(set(docs)) == len(docs)
    assert all(5 * 1024 <= len(d) <= 20 * 1024 for d in docs)
    for doc in docs[:10]:
        result = validate_document(doc)
        assert result.valid, result.issues
        assert not result.issues, result.issues  # not even a warning
    assert validate_ptiurn(ptiurn(123)) == []
    assert validate_asn(asn(7, 2)) == []
    assert parse_asn(asn(7, 2)).force == "01"


def test_canonical_records_carry_fresh_ids() -> None:
    factory = CanonicalFactory(2, topic_prefix="x.")
    a, b = factory.record(0), factory.record(2)
    assert a.message_id != b.message_id
    assert str(a.message_id).encode() in a.value
    assert a.headers["message-id"] == str(a.message_id)
    assert factory.topic == "x.cjs.case-file.v1"


@pytest.mark.integration
async def test_every_workload_runs_and_reports_every_field(services: Services) -> None:
    env = BenchEnv(services.database_url, services.kafka_bootstrap, TEST_RUN_DIR / "bench")
    cfg = BenchConfig.quick_run(backlog=300, backlog_seconds=8.0)
    report = await run_bench(cfg, env)
    data = report.to_dict()

    assert data["errors"] == []
    assert {"started_at", "machine", "config", "results", "targets_met"} <= set(data)
    assert data["machine"]["cpus"] >= 1
    rows = {r["name"]: r for r in data["results"]}
    assert set(rows) == EXPECTED_ROWS
    for name, row in rows.items():
        assert list(row) == list(RESULT_FIELDS), name
        assert set(row["latency_ms"]) == set(LATENCY_FIELDS), name
        assert row["messages"] > 0, name
        assert row["seconds"] > 0, name
        assert row["throughput_per_s"] > 0, name
        assert row["cpu_s"], name
        assert row["measured"], name
        for target in row["targets"]:
            assert list(target) == list(TARGET_FIELDS), name
            assert target["met"] in (True, False), (name, target)
    assert {n for n, r in rows.items() if r["targets"]} == TARGETED
    for name in ("ingest.max", "ingest.rate50", "e2e.rate40", "pipeline.rate50", "replay"):
        assert rows[name]["latency_ms"]["p99"] is not None, name
    for name in ("ingest.max", "pipeline.drain", "e2e.rate40", "replay"):
        assert rows[name]["ratio_to_baseline"] is not None, name
    assert "api" in rows["ingest.max"]["cpu_s"]
    assert "api" in rows["ingest.max"]["peak_rss_mb"]
    assert "worker" in rows["pipeline.drain"]["peak_rss_mb"]
    assert {"api", "worker"} <= set(rows["e2e.rate40"]["cpu_s"])
    assert rows["replay"]["messages"] == cfg.replay_messages
    assert rows["pipeline.drain"]["messages"] == cfg.pipeline_messages
    assert rows["ingest.max"]["extra"]["statuses"] == {"202": cfg.ingest_messages}
    # the same POSTs from a client light enough that the API, not the client, is the limit
    assert rows["ingest.max_lean"]["extra"]["statuses"] == {"202": cfg.ingest_messages}
    assert "api" in rows["ingest.max_lean"]["cpu_s"]
    assert rows["ingest.max_lean"]["latency_ms"]["p99"] is not None
    assert any(t["name"] == "ratio to raw passthrough" for t in rows["pipeline.drain"]["targets"])

    text = report.render()
    for name in EXPECTED_ROWS:
        assert name in text
    assert "targets:" in text
    json.dumps(data, default=str)  # serialisable


@pytest.mark.integration
def test_command_line_json_on_given_servers(services: Services, tmp_path: Path) -> None:
    """`exchange bench --quick --json` on the servers named by the environment (no start-up)."""
    env = {
        "EXCHANGE_DATABASE_URL": services.database_url,
        "EXCHANGE_KAFKA_BOOTSTRAP": services.kafka_bootstrap,
        "EXCHANGE_RUN_DIR": str(TEST_RUN_DIR / "bench-cli"),
    }
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        bench_app,
        ["--quick", "--json", "--workloads", "baselines", "--output", str(out)],
        env=env,
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {r["name"] for r in data["results"]} >= {"baseline.kafka_produce", "baseline.xsd"}
    assert json.loads(out.read_text()) == data


def test_module_entry_point_shows_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "exchange.bench", "--help"], capture_output=True, check=False
    )
    assert done.returncode == 0
    assert b"--backlog" in done.stdout
    assert b"--quick" in done.stdout
