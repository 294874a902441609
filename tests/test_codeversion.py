"""Versions derived from the code: a change to any source or template file changes them."""

from __future__ import annotations

import shutil

from feedsvc import codeversion
from feedsvc.codeversion import code_version


def test_the_version_follows_every_source_and_template_file(tmp_path, monkeypatch):
    package = tmp_path / "feedsvc"
    shutil.copytree(codeversion.PACKAGE / "templates", package / "templates")
    shutil.copy(codeversion.PACKAGE / "urls.py", package / "urls.py")
    monkeypatch.setattr(codeversion, "PACKAGE", package)
    parts, libraries = ("templates", "urls.py"), ("Jinja2",)

    def version() -> str:
        code_version.cache_clear()
        return code_version(parts, libraries)

    first = version()
    assert version() == first, "the same files give the same version"
    (package / "templates" / "__pycache__").mkdir()
    (package / "templates" / "__pycache__" / "x.py").write_text("compiled leftovers")
    assert version() == first, "caches are not sources"
    page = package / "templates" / "article.html"
    page.write_text(page.read_text() + "<!-- an edit -->")
    edited = version()
    assert edited != first
    (package / "urls.py").write_text((package / "urls.py").read_text() + "\n# an edit\n")
    assert version() not in (first, edited)
    assert code_version(parts, ("Jinja2", "no-such-library")) != code_version(parts, libraries)
    code_version.cache_clear()
