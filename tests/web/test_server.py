"""The real Procfile `web` command on a loopback port, over real HTTP."""

from __future__ import annotations

import gzip
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO


def procfile_command(name: str) -> str:
    for line in (REPO / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name}: line in the Procfile")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def web_server(site_settings, publish):
    publish()
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PORT": str(port), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "FEEDSVC_DATABASE_URL": site_settings.database_url,
           "FEEDSVC_BASE_URL": site_settings.base_url, "FEEDSVC_WEBSUB_HUB": site_settings.websub_hub}
    command = procfile_command("web").replace("0.0.0.0", "127.0.0.1")
    process = subprocess.Popen(["bash", "-c", f"exec {command}"], env=env, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"{shlex.quote(command)} did not become ready:\n{output}")
        time.sleep(0.2)
    yield base
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def test_procfile_web_serves_200_304_gzip_and_head(web_server):
    with httpx.Client(base_url=web_server, trust_env=False) as http:
        plain = http.get("/feeds/all.atom", headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200
        assert plain.headers["content-type"] == "application/atom+xml; charset=utf-8"
        assert plain.content.startswith(b"<?xml")
        again = http.get("/feeds/all.atom", headers={"Accept-Encoding": "identity",
                                                     "If-None-Match": plain.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        since = http.get("/feeds/all.atom", headers={"Accept-Encoding": "identity",
                                                     "If-Modified-Since": plain.headers["last-modified"]})
        assert since.status_code == 304
        raw = http.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip"})
        assert raw.headers["content-encoding"] == "gzip"
        assert raw.content == plain.content  # httpx decodes; the wire carried gzip
        assert int(raw.headers["content-length"]) < len(plain.content)
        head = http.head("/feeds/all.atom", headers={"Accept-Encoding": "identity"})
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == plain.headers["content-length"]
        assert head.headers["etag"] == plain.headers["etag"]
        assert http.get("/healthz").text == "ok\n"


def test_gzip_on_the_wire_is_the_stored_gzip(web_server):
    with httpx.Client(base_url=web_server, trust_env=False) as http, \
            http.stream("GET", "/feeds/privacy.rss", headers={"Accept-Encoding": "gzip"}) as response:
        wire = b"".join(response.iter_raw())
    assert gzip.decompress(wire).startswith(b"<?xml")


def wait_for_new_etag(http: httpx.Client, path: str, old: str, ceiling: float = 30.0) -> httpx.Response:
    """The web process picks up a new generation within its check interval: wait for it."""
    deadline = time.monotonic() + ceiling
    while True:
        response = http.get(path, headers={"Accept-Encoding": "identity"})
        if response.headers["etag"] != old or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


BACKDATED = "2016-05-23-machine-bias.md"


def correct_backdated_article(content: Path) -> None:
    """A same-length correction of the oldest article: no entry date gets newer."""
    target = content / BACKDATED
    text = target.read_text()
    assert '"Machine Bias"' in text
    target.write_text(text.replace('"Machine Bias"', '"Machine bias"'))


def test_if_modified_since_sees_a_backdated_correction_over_http(web_server, publish, site_settings):
    path = "/feeds/all/archive/1.atom"  # where the 2016 article lives with five per page
    with httpx.Client(base_url=web_server, trust_env=False) as http:
        before = http.get(path, headers={"Accept-Encoding": "identity"})
        assert b"Machine Bias" in before.content
        correct_backdated_article(site_settings.content_dir)
        assert publish().published
        after = wait_for_new_etag(http, path, before.headers["etag"])
        assert after.headers["etag"] != before.headers["etag"]
        revalidated = http.get(path, headers={"Accept-Encoding": "identity",
                                              "If-Modified-Since": before.headers["last-modified"]})
        assert revalidated.status_code == 200
        assert b"Machine bias" in revalidated.content and b"Machine Bias" not in revalidated.content
        # An unchanged document keeps its Last-Modified, so it still revalidates to 304.
        opml = http.get("/feeds.opml")
        assert http.get("/feeds.opml", headers={
            "If-Modified-Since": opml.headers["last-modified"]}).status_code == 304


def readme_nginx_recipe() -> str:
    readme = (REPO / "docs" / "operations.md").read_text()  # the static-hosting recipe
    start = readme.index("```nginx\n") + len("```nginx\n")
    return readme[start:readme.index("```", start)]


def test_exported_files_served_by_nginx_revalidate_after_a_same_length_edit(
        tmp_path, site_settings, publish):
    """nginx derives ETag and Last-Modified from a file's mtime and size: the export
    must give each file the time its bytes changed, or a same-length correction
    is answered 304 forever. Served with the operator guide's own nginx recipe."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.skip("nginx is not installed (scripts/test installs Debian's nginx)")
    from feedsvc.export import export_generation
    from feedsvc.store import Store

    assert publish().published
    store = Store(site_settings.database_url)
    site = tmp_path / "site"
    export_generation(store, site)
    port = free_port()
    prefix = tmp_path / "nginx"
    (prefix / "logs").mkdir(parents=True)
    (prefix / "nginx.conf").write_text(f"""
daemon off; master_process off; worker_processes 1;
error_log {prefix}/logs/error.log; pid {prefix}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  include /etc/nginx/mime.types;
  access_log off;
  client_body_temp_path {prefix}/tmp; proxy_temp_path {prefix}/tmp;
  fastcgi_temp_path {prefix}/tmp; uwsgi_temp_path {prefix}/tmp; scgi_temp_path {prefix}/tmp;
  server {{
    listen 127.0.0.1:{port};
    root {site};
{readme_nginx_recipe()}
  }}
}}
""")
    tested = subprocess.run([nginx, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                            capture_output=True, text=True, timeout=60)
    assert tested.returncode == 0 and "[warn]" not in tested.stderr, tested.stderr  # nginx -t: clean
    process = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        with httpx.Client(base_url=base, trust_env=False) as http:
            while True:
                try:
                    before = http.get("/feeds/all/archive/1.atom")
                    break
                except httpx.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError((prefix / "logs" / "error.log").read_text()
                                             if (prefix / "logs" / "error.log").exists() else
                                             process.stdout.read().decode(errors="replace")) from None
                    time.sleep(0.1)
            assert before.status_code == 200 and b"Machine Bias" in before.content
            correct_backdated_article(site_settings.content_dir)
            assert publish().published
            export_generation(store, site)
            after = http.get("/feeds/all/archive/1.atom")
            assert len(after.content) == len(before.content)  # same size: only mtime can tell
            assert after.headers["etag"] != before.headers["etag"]
            revalidated = http.get("/feeds/all/archive/1.atom",
                                   headers={"If-Modified-Since": before.headers["last-modified"]})
            assert revalidated.status_code == 200 and b"Machine bias" in revalidated.content
            types = {path: http.get(path).headers["content-type"] for path in (
                "/feeds/all.rss", "/feeds/all.atom", "/feeds/all.json", "/feeds.opml",
                "/feed.xsl", "/charts/articles-per-month.svg", "/icon.png", "/favicon.ico",
                "/topics/privacy", "/", "/api/topics")}
            assert types == {
                "/feeds/all.rss": "application/rss+xml; charset=utf-8",
                "/feeds/all.atom": "application/atom+xml; charset=utf-8",
                "/feeds/all.json": "application/feed+json; charset=utf-8",
                "/feeds.opml": "text/x-opml; charset=utf-8",
                "/feed.xsl": "text/xsl; charset=utf-8",
                "/charts/articles-per-month.svg": "image/svg+xml; charset=utf-8",
                "/icon.png": "image/png", "/favicon.ico": "image/x-icon",
                "/topics/privacy": "text/html; charset=utf-8", "/": "text/html; charset=utf-8",
                "/api/topics": "application/json; charset=utf-8"}
            packed = http.get("/feeds/all.rss", headers={"Accept-Encoding": "gzip"})
            assert packed.headers["content-encoding"] == "gzip"  # the .gz sibling
            # ...and every answer says it varies by encoding, as a shared cache must know.
            assert packed.headers["vary"] == "Accept-Encoding"
            assert http.get("/feeds/all.rss").headers["vary"] == "Accept-Encoding"
    finally:
        process.kill()
        process.wait(10)


def raw_get(base: str, target: str, host: str) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request written by hand, so the request line and Host are exactly ours."""
    address = base.removeprefix("http://").split(":")
    with socket.create_connection((address[0], int(address[1])), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
                     f"Accept: text/html\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(("target", "location"), [
    ("/feeds//all.rss", "https://feeds.test/feeds/all.rss"),
    ("//feeds/all.atom", "https://feeds.test/feeds/all.atom"),
    ("/topics//privacy?x=1", "https://feeds.test/topics/privacy?x=1"),
])
def test_host_header_never_reaches_a_location_over_a_real_server(web_server, target, location):
    status, headers, body = raw_get(web_server, target, "evil.example")
    if target.startswith("//") and status == 200:  # the server itself collapsed the slashes
        assert "location" not in headers and body.startswith(b"<?xml")
    else:
        assert status == 308 and headers["location"] == location
        assert headers["cache-control"] == "public, max-age=300"
    assert b"evil.example" not in body and "evil.example" not in repr(headers)
    with httpx.Client(base_url=web_server, trust_env=False) as http:
        response = http.get("/feeds//all.rss", headers={"Host": "evil.example"})
        assert response.status_code == 308
        assert response.headers["location"] == "https://feeds.test/feeds/all.rss"
        missing = http.get("/nope", headers={"Host": "evil.example", "Accept": "text/html"})
        assert missing.status_code == 404 and b"evil.example" not in missing.content
        assert b"https://feeds.test/topics/privacy" in missing.content
