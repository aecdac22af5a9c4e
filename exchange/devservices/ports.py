"""Small helpers for picking loopback ports and waiting for servers to listen."""

from __future__ import annotations

import contextlib
import random
import socket
import time

LOOPBACK = "127.0.0.1"
_FIRST_PORT = 20000  # above the usual fixed service ports (5432, 9092, 8080...)


def _ephemeral_low() -> int | None:
    """First port of the kernel's ephemeral range, or None when unknown."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """Return ``count`` distinct TCP ports that are free on ``host`` right now.

    Ports are drawn below the kernel's ephemeral range (Linux:
    ``ip_local_port_range``), so that no outgoing connection can take one as its
    local port between this call and our server binding it; only another
    server binding the same port could (a small, accepted race, which the
    callers retry). Elsewhere, the kernel picks (``bind(("", 0))``).
    """
    low = _ephemeral_low()
    if low is not None and low - _FIRST_PORT >= 1000:
        rng = random.SystemRandom()
        chosen: list[int] = []
        for _ in range(200 * count):
            port = rng.randrange(_FIRST_PORT, low)
            if port not in chosen and port_is_free(port, host):
                chosen.append(port)
                if len(chosen) == count:
                    return chosen
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.bind((host, 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True if a server could bind ``host:port`` now (SO_REUSEADDR, as servers do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def can_connect(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def wait_for_port(port: int, host: str = LOOPBACK, timeout: float = 30.0) -> bool:
    """Poll until ``host:port`` accepts connections; False if ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if can_connect(port, host):
            return True
        time.sleep(0.1)
    return False
