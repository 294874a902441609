"""Helpers the benchmark scripts share: loopback ports, process memory, wrk's output."""

from __future__ import annotations

import re
import socket


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def rss_kb(pid: int) -> int:
    """Resident memory of a process (Linux /proc), 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def parse_wrk(out: str) -> dict:
    """Requests, requests/s, p99 and non-2xx/3xx answers from `wrk --latency` output."""
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p99": re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1),
            "non_2xx_3xx": int(bad.group(1)) if bad else 0}
