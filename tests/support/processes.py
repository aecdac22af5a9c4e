"""The hub's processes as a user runs them (`exchange serve`, `exchange worker`), for e2e and
fault tests: start, kill -9, restart, stop, and read their logs when something goes wrong."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from exchange.devservices.ports import free_ports
from exchange.settings import Settings


class HubProcesses:
    def __init__(self, settings: Settings, log_dir: Path, *, workers: int = 1) -> None:
        self.port = free_ports(1)[0]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            "EXCHANGE_ENVIRONMENT": "test",
            "EXCHANGE_DATABASE_URL": settings.database_url,
            "EXCHANGE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "EXCHANGE_TOPIC_PREFIX": settings.topic_prefix,
            "EXCHANGE_TOPIC_PARTITIONS": str(settings.topic_partitions),
            "EXCHANGE_TOPIC_REPLICATION_FACTOR": str(settings.topic_replication_factor),
            "EXCHANGE_RUN_DIR": str(settings.run_dir),
            "EXCHANGE_RETRY_DELAYS_SECONDS": "[0.2, 0.4]",
        }
        self.api: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes] | None] = [None] * workers

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        # The child keeps its own copy of the descriptor; ours can close at once.
        with (self.log_dir / f"{name}.log").open("ab") as log:
            return subprocess.Popen(  # noqa: S603 - our own CLI
                [sys.executable, "-m", "exchange.cli", *args], env=self.env, stdout=log, stderr=log
            )

    def start(self) -> HubProcesses:
        self.api = self._spawn("api", ["serve", "--port", str(self.port)])
        for i in range(len(self.workers)):
            self.start_worker(i)
        self.wait_ready()
        return self

    def start_worker(self, index: int) -> None:
        self.workers[index] = self._spawn(f"worker-{index}", ["worker"])

    def kill_worker(self, index: int) -> None:
        proc = self.workers[index]
        assert proc is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p is not None and p.poll() is not None for p in self.all):
                raise RuntimeError("a hub process exited during start-up: " + self.tails())
            try:
                if httpx.get(f"{self.base}/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"API not ready in {timeout} s: " + self.tails())

    @property
    def all(self) -> list[subprocess.Popen[bytes] | None]:
        return [self.api, *self.workers]

    def stop(self) -> list[int | None]:
        """SIGTERM everything, SIGKILL what lingers; returns the exit codes."""
        for proc in self.all:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        codes = []
        for proc in self.all:
            if proc is None:
                codes.append(None)
                continue
            try:
                codes.append(proc.wait(timeout=20))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait())
        return codes

    def tails(self, chars: int = 3000) -> str:
        return " | ".join(
            f"{p.name}: {p.read_text(errors='replace')[-chars:]}"
            for p in sorted(self.log_dir.glob("*.log"))
        )
