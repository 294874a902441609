"""Every served RSS, Atom and JSON Feed document passes the strictest checks available offline.

No installable W3C feed validator exists for Python 3 (the Debian package was
Python 2 and left after buster), so its checks users hit are written out in
tests/readers/validity.py, next to RFC 4287's own grammar.
"""

from __future__ import annotations

import pytest

from tests.readers import compare
from tests.readers.validity import CHECKS

pytestmark = pytest.mark.corpus


@pytest.mark.parametrize("check", list(CHECKS))
def test_every_feed_document_passes(site, check):
    problems = [f"{d.url.removeprefix(site.base)}: {p}" for d in site.documents for p in CHECKS[check](d)]
    assert not problems, f"{check}: " + compare.first(problems)
