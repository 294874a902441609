"""Refuse to start a server on a port another process already listens on.

granian binds its listening socket with SO_REUSEPORT, so a second `feedsvc
web` or `serve` on the same port does not fail: the kernel splits the
connections between the two (an old and a new release, or two copies of the
site, answering at random). Before the server starts, a probe socket binds
the address *without* SO_REUSEPORT: the kernel refuses that while any socket
listens there, whatever its options, so the refusal is exact. SO_REUSEADDR is
set as every server sets it, so connections of a just-stopped server lingering
in TIME_WAIT do not count as a listener.
"""

from __future__ import annotations

import errno
import socket
import time

from feedsvc.errors import FeedsvcError


class PortInUse(FeedsvcError):
    """The address a server was asked to listen on is taken."""


def ensure_port_free(host: str, port: int) -> None:
    """Raise PortInUse (one line for the CLI) when `host:port` cannot be listened on."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(f"port {port} on {host} is already in use (is another feedsvc "
                                "web or serve running? choose another with --port)") from None
            raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def wait_until_accepting(host: str, port: int, ceiling: float) -> bool:
    """Wait until a server accepts connections on `host:port` (True), or `ceiling`
    seconds have passed (False).

    granian binds its socket in each worker (SO_REUSEPORT), not in its parent, so
    the port refuses connections until a worker has started: a URL printed
    before that fails when opened at once. A wildcard address is tried on its
    loopback. The probe connection is closed unused; the server sees a client
    that sent nothing."""
    target = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)  # noqa: S104
    deadline = time.monotonic() + ceiling
    while True:
        try:
            with socket.create_connection((target, port), timeout=1.0):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
