"""Hub processes started as ``make run`` starts them, and their CPU and memory, via psutil."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]

MB = 1024 * 1024


class HubProcess:
    """``python -m exchange.cli <args>`` with the benchmark's environment, logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our own executable
            [sys.executable, "-m", "exchange.cli", *args],
            env=env,
            stdout=self._log,
            stderr=self._log,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    def stop(self, timeout: float = 20) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def wait_api_ready(base: str, procs: Iterable[HubProcess], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if not p.alive():
                raise RuntimeError(f"{p.name} exited during start-up: {p.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the API at {base} was not ready within {timeout:.0f} s")


class Sampler:
    """CPU seconds and peak RSS of named process groups over a measured interval.

    ``groups`` maps a name to the pids of its root processes; with ``tree=True`` for a group
    its children are followed too (PostgreSQL backends). CPU is the sum of user+system time
    gained by every process seen during the interval; RSS is sampled every ``interval`` s
    (peak of the group's sum; not reported for tree groups, whose shared buffers would be
    counted once per backend)."""

    def __init__(
        self,
        groups: dict[str, list[int]],
        *,
        tree: Iterable[str] = (),
        interval: float = 0.2,
    ) -> None:
        self.groups = groups
        self.tree = set(tree)
        self.interval = interval
        self._start: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._owner: dict[int, str] = {}
        self._procs: dict[int, psutil.Process] = {}
        self.peak_rss: dict[str, float] = {}
        self.rss_series: dict[str, list[tuple[float, float]]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0

    def _members(self) -> list[tuple[str, psutil.Process]]:
        found: list[tuple[str, psutil.Process]] = []
        for name, pids in self.groups.items():
            for pid in pids:
                proc = self._procs.get(pid)
                if proc is None:
                    try:
                        proc = self._procs[pid] = psutil.Process(pid)
                    except psutil.NoSuchProcess:
                        continue
                found.append((name, proc))
                if name in self.tree:
                    with contextlib.suppress(psutil.Error):
                        for child in proc.children(recursive=True):
                            known = self._procs.setdefault(child.pid, child)
                            found.append((name, known))
        return found

    def _sample(self, first: bool = False) -> None:
        rss: dict[str, float] = {}
        now = time.monotonic() - self._t0
        for name, proc in self._members():
            try:
                times = proc.cpu_times()
                cpu = times.user + times.system
                if name not in self.tree:
                    rss[name] = rss.get(name, 0.0) + proc.memory_info().rss / MB
            except psutil.Error:
                continue
            self._owner[proc.pid] = name
            if proc.pid not in self._start:
                self._start[proc.pid] = cpu if first else 0.0
            self._last[proc.pid] = cpu
        for name, value in rss.items():
            self.peak_rss[name] = max(self.peak_rss.get(name, 0.0), value)
            self.rss_series.setdefault(name, []).append((round(now, 2), round(value, 1)))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> Sampler:
        self._t0 = time.monotonic()
        self._sample(first=True)
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        self._sample()

    def cpu_seconds(self) -> dict[str, float]:
        out: dict[str, float] = dict.fromkeys(self.groups, 0.0)
        for pid, last in self._last.items():
            name = self._owner[pid]
            out[name] += max(0.0, last - self._start.get(pid, 0.0))
        return {k: round(v, 2) for k, v in out.items()}

    def rss_mb(self) -> dict[str, float]:
        return {k: round(v, 1) for k, v in self.peak_rss.items()}


def self_pid() -> int:
    return os.getpid()
