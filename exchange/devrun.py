"""``make run``: local Kafka and PostgreSQL, migrations, the API and a worker, and a demo.

Servers the user already runs are used instead when ``EXCHANGE_KAFKA_BOOTSTRAP`` or
``EXCHANGE_DATABASE_URL`` is set. Ctrl-C stops everything this command started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from exchange.bootstrap import dev_issuer
from exchange.db.migrate import upgrade
from exchange.settings import REPO_ROOT, get_settings

DEMO_CASE = REPO_ROOT / "deploy" / "demo" / "new-case.xml"


def run_local(*, port: int = 8000, demo: bool = True) -> int:
    from exchange.devservices import KafkaCluster, PostgresServer

    settings = get_settings()
    run_dir = settings.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    with contextlib.ExitStack() as stack:
        if "EXCHANGE_DATABASE_URL" not in os.environ:
            _say("starting PostgreSQL …")
            pg = stack.enter_context(PostgresServer(run_dir / "postgres"))
            env["EXCHANGE_DATABASE_URL"] = pg.url
        if "EXCHANGE_KAFKA_BOOTSTRAP" not in os.environ:
            _say("starting Apache Kafka (KRaft) …")
            kafka = stack.enter_context(KafkaCluster(run_dir / "kafka"))
            env["EXCHANGE_KAFKA_BOOTSTRAP"] = kafka.bootstrap
        database_url = env.get("EXCHANGE_DATABASE_URL", settings.database_url)
        _say("migrating the database …")
        upgrade(database_url)
        logs = run_dir / "logs"
        logs.mkdir(exist_ok=True)
        procs = [
            _spawn(["serve", "--port", str(port)], env, logs / "api.log"),
            _spawn(["worker"], env, logs / "worker.log"),
        ]
        stack.callback(_terminate, procs)
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, procs)
        issuer = dev_issuer(settings)
        if demo:
            _demo(
                base,
                issuer.token("demo-police", ["police"], "01"),
                issuer.token("demo-cms", ["cps"]),
            )
        _banner(base, logs, env)
        _wait_for_ctrl_c(procs)
    _say("stopped.")
    return 0


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(  # noqa: S603 - our own executable
        [sys.executable, "-m", "exchange.cli", *args], env=env, stdout=out, stderr=out
    )


def _wait_ready(base: str, procs: list[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise SystemExit("a hub process exited during start-up; see .run/logs/")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise SystemExit(f"the API did not become ready within {timeout:.0f} s")


def _demo(base: str, police_token: str, cms_token: str) -> None:
    _say(f"demo: POST {DEMO_CASE.relative_to(REPO_ROOT)} to /police/messages")
    answer = httpx.post(
        f"{base}/police/messages",
        content=DEMO_CASE.read_bytes(),
        headers={
            "Authorization": f"Bearer {police_token}",
            "Content-Type": "application/xml",
            "Idempotency-Key": "demo-case-1",
        },
        timeout=10,
    )
    _say(f"  → {answer.status_code} {answer.text}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page = httpx.get(
            f"{base}/cps/deliveries", headers={"Authorization": f"Bearer {cms_token}"}, timeout=10
        ).json()
        if page["items"]:
            item = page["items"][0]
            _say(f"demo: CMS pulled case {item['case_urn']} (message {item['message_id']})")
            return
        time.sleep(0.3)
    _say("demo: the case has not reached CMS yet; see .run/logs/worker.log")


def _banner(base: str, logs: Path, env: dict[str, str]) -> None:
    _say(
        f"""
CJS Exchange Hub is running.
  API docs (OpenAPI):   {base}/docs
  Ops console:          {base}/console   (token: .venv/bin/exchange token ops-1 --role ops)
  Metrics:              {base}/metrics
  Kafka bootstrap:      {env.get("EXCHANGE_KAFKA_BOOTSTRAP")}
  PostgreSQL:           {env.get("EXCHANGE_DATABASE_URL")}
  Logs:                 {logs}/
Get a token and pull as CMS:
  TOKEN=$(.venv/bin/exchange token cms-1 --role cps)
  curl -H "Authorization: Bearer $TOKEN" '{base}/cps/deliveries?cursor=0'
Push a police case:
  TOKEN=$(.venv/bin/exchange token force-01 --role police --org 01)
  curl -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/xml' \\
       --data-binary @deploy/demo/new-case.xml {base}/police/messages
Press Ctrl-C to stop everything."""
    )


def _wait_for_ctrl_c(procs: list[subprocess.Popen[bytes]]) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        _say("a hub process exited; stopping (see .run/logs/)")


def _terminate(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()


def _say(text: str) -> None:
    print(text, flush=True)  # noqa: T201 - this is a console command
