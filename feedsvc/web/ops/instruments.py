"""The web's own Prometheus instruments, created once per process.

A leaf module (it imports nothing of feedsvc's), so that metrics, polls and rate
limits can all count without importing one another. Imported once
PROMETHEUS_MULTIPROC_DIR is set (feedsvc.web.multiproc): prometheus-client
decides its mode when these are created.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REGISTRY = CollectorRegistry(auto_describe=True)  # this process's, when not in multiprocess mode
HTTP_REQUESTS = Counter("feedsvc_http_requests", "HTTP requests answered, by route and status.",
                        ["route", "status"], registry=REGISTRY)
HTTP_LATENCY = Histogram("feedsvc_http_request_duration_seconds",
                         "Time to answer a request (until the response is handed to the server).",
                         ["route"], buckets=LATENCY_BUCKETS, registry=REGISTRY)
IN_FLIGHT = Gauge("feedsvc_http_requests_in_flight", "Requests being answered now.",
                  multiprocess_mode="livesum", registry=REGISTRY)
STORE_LATENCY = Histogram("feedsvc_store_query_seconds", "Time the web's store queries took, by kind.",
                          ["kind"], buckets=LATENCY_BUCKETS, registry=REGISTRY)
RATE_LIMITED = Counter("feedsvc_rate_limited", "Requests refused with 429 by the rate limit.",
                       registry=REGISTRY)
RATE_LIMIT_ERRORS = Counter("feedsvc_rate_limit_store_errors",
                            "Requests let through because the store could not count them.",
                            registry=REGISTRY)
POLLS_FLUSHED = Counter("feedsvc_polls_flushed", "Feed polls written to the store by this server.",
                        registry=REGISTRY)
