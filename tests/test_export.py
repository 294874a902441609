"""The static export against a real store and real files: stale files go, the operator's
stay, unchanged files are left alone, mtimes are Last-Modified."""

from __future__ import annotations

import json
import shutil

import pytest

from feedsvc.build import Builder
from feedsvc.export import MANIFEST, export_site
from feedsvc.store import Store
from tests.conftest import CONTENT


@pytest.fixture
def site(tmp_path, settings_for):
    """(settings, store, build) over a private copy of the bundled content, built once."""
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    settings = settings_for(content, feed_size=5)
    store = Store(settings.database_url)
    store.create()
    builder = Builder(settings, store)
    assert builder.build().published
    return settings, store, builder


def files_under(root) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_export_writes_every_document_with_its_last_modified_as_mtime(site, tmp_path):
    _settings, store, _build = site
    out = tmp_path / "out"
    report = export_site(store, out)
    docs = store.documents(store.current_generation())
    assert report.documents == len(docs) > 100 and report.written == 2 * len(docs)
    assert (report.unchanged, report.removed) == (0, 0)
    assert files_under(out) == {d.path for d in docs} | {d.path + ".gz" for d in docs} | {MANIFEST}
    for doc in docs[:: max(1, len(docs) // 20)]:
        body = store.body(doc.blob_hash)
        assert (out / doc.path).read_bytes() == body
        assert (out / doc.path).stat().st_mtime == doc.last_modified.timestamp()
        assert (out / (doc.path + ".gz")).stat().st_mtime == doc.last_modified.timestamp()


def test_an_unchanged_export_rewrites_nothing(site, tmp_path):
    _settings, store, _build = site
    out = tmp_path / "out"
    export_site(store, out)
    inodes = {p: (out / p).stat().st_ino for p in files_under(out) if p != MANIFEST}
    again = export_site(store, out)
    assert (again.written, again.removed) == (0, 0) and again.unchanged == 2 * again.documents
    assert {p: (out / p).stat().st_ino for p in inodes} == inodes


def test_files_no_longer_published_are_removed_and_the_operators_are_kept(site, tmp_path):
    settings, store, builder = site
    out = tmp_path / "out"
    export_site(store, out)
    before = {d.path for d in store.documents(store.current_generation())}
    (out / "robots.txt").write_text("User-agent: *\n")  # the operator's own files
    (out / "feeds" / "all" / "archive" / "notes.txt").write_text("kept\n")
    (out / "feeds" / "all.rss.bak").write_text("kept\n")

    for path in sorted(settings.content_dir.glob("*.md"))[:10]:  # fewer archive pages
        path.unlink()
    assert builder.build(allow_shrink=True).published
    after = export_site(store, out)

    docs = {d.path for d in store.documents(store.current_generation())}
    gone = before - docs
    assert any("/archive/" in path for path in gone), gone
    assert not any((out / path).exists() or (out / (path + ".gz")).exists() for path in gone)
    assert after.removed == 2 * len(gone)
    assert (out / "robots.txt").read_text() == "User-agent: *\n"
    assert files_under(out) == docs | {d + ".gz" for d in docs} | {
        MANIFEST, "robots.txt", "feeds/all/archive/notes.txt", "feeds/all.rss.bak"}
    assert set(json.loads((out / MANIFEST).read_text())["files"]) == docs | {d + ".gz" for d in docs}


def test_no_gzip_removes_the_gzip_siblings_an_earlier_export_wrote(site, tmp_path):
    """nginx's gzip_static would otherwise serve the old .gz of a changed feed."""
    _settings, store, _build = site
    out = tmp_path / "out"
    export_site(store, out)
    report = export_site(store, out, gzip_siblings=False)
    assert report.removed == report.documents
    assert not any(p.endswith(".gz") for p in files_under(out))


def test_a_manifest_naming_a_file_outside_the_directory_removes_nothing(site, tmp_path):
    _settings, store, _build = site
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "precious.txt"
    victim.write_text("mine\n")
    (out / MANIFEST).write_text(json.dumps({"version": 1, "files": {"../precious.txt": "x"}}))
    with pytest.raises(ValueError, match="outside"):
        export_site(store, out)
    assert victim.read_text() == "mine\n"


def test_a_file_that_is_not_a_manifest_is_not_trusted(site, tmp_path):
    _settings, store, _build = site
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text("[1, 2]")
    with pytest.raises(ValueError, match="not an export manifest"):
        export_site(store, out)
