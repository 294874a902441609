"""The API contract: /openapi.json is valid OpenAPI 3.1, and the app keeps to it.

schemathesis generates requests for every operation from the document and
checks every response: no server error, a documented status, a documented
media type, a body matching the schema. (Driven through its Python API with
Hypothesis, one operation after another: its pytest plugin does not load
under this pytest.)
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate

EXAMPLES = 25


def test_openapi_document_is_valid(client):
    document = client.get("/openapi.json").json
    validate(document)
    assert document["openapi"] == "3.1.0"
    for path in ("/feeds/{topic}.rss", "/feeds/{topic}/archive/{page}.json", "/feeds.opml",
                 "/api/topics", "/api/topics/{topic}/articles", "/api/links", "/status"):
        assert path in document["paths"]


def test_api_keeps_to_its_contract(app):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case) -> None:
            # The WSGI transport does not decode gzip; gzip has its own tests.
            case.call_and_validate(headers={"Accept-Encoding": "identity"})

        exercise()
