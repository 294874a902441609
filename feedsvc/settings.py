"""Every setting of feedsvc, in one table.

The `Settings` dataclass *is* the table: each field carries its default and its
help text, so the environment parser, `feedsvc settings` and the README table
are all generated from the same place and cannot drift (a test checks the
README). Values come from `FEEDSVC_<NAME>` environment variables; invalid
values are rejected with a message that names the variable, because a service
that silently falls back to a default on a typo is worse than one that refuses
to start.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from feedsvc.errors import FeedsvcError

ENV_PREFIX = "FEEDSVC_"
_T = TypeVar("_T")


class SettingsError(FeedsvcError, ValueError):
    """A setting has a value feedsvc cannot use."""


def _setting(default: _T, help: str, *, minimum: float | None = None,
             choices: tuple[str, ...] | None = None, kind: str | None = None,
             fallback_env: str | None = None) -> _T:
    return field(default=default, metadata={
        "help": help, "minimum": minimum, "choices": choices, "kind": kind,
        "fallback_env": fallback_env,
    })


@dataclass(frozen=True)
class Settings:
    content_dir: Path = _setting(
        Path("content"), "Directory of article files (`*.md`, `*.txt`) and `topics.yml`.")
    database_url: str = _setting(
        "sqlite:///instance/feedsvc.sqlite3",
        "SQLAlchemy URL of the store. A relative SQLite path is relative to the working "
        "directory. `DATABASE_URL` is read when this is unset.",
        fallback_env="DATABASE_URL")
    db_timeout: float = _setting(
        30.0, "Seconds to wait for a locked SQLite database or a PostgreSQL connection before "
        "giving up (the build then fails cleanly and runs again next time).", minimum=0.1)
    base_url: str = _setting(
        "http://localhost:8000", "Public URL the service is reached at; every link in a "
        "feed is absolute and starts with it.", kind="url")
    id_authority: str = _setting(
        "feedsvc.example,2026", "Authority part of the `tag:` URIs that identify entries "
        "(`domain,year`). Set it once before publishing and never change it: readers use "
        "entry ids to tell new items from old ones.", kind="tag-authority")
    site_title: str = _setting("AI Ethics News", "Title of the site and of the all-articles feed.")
    site_description: str = _setting(
        "Curated news on the ethics of artificial intelligence.",
        "Description of the site and of the all-articles feed.")
    language: str = _setting("en", "Language of the feeds (BCP 47 tag).")
    feed_size: int = _setting(
        50, "Entries in a subscription feed; older entries move to RFC 5005 archive pages "
        "of this size.", minimum=1)
    build_interval: int = _setting(
        300, "Seconds between scheduled rebuilds; also the `max-age` feeds are cached for.",
        minimum=1)
    linkcheck_interval: int = _setting(
        600, "Seconds between two scheduled link-check runs (each checks the URLs that are due, "
        "at most FEEDSVC_LINKCHECK_BATCH).", minimum=1)
    clock_lease_seconds: int = _setting(
        30, "How long a clock process's leadership lasts without renewal; another clock takes "
        "over within two such periods after the leader dies.", minimum=2)
    log_format: str = _setting(
        "keyvalue", "Log lines as `keyvalue` (logfmt) or `json`.", choices=("keyvalue", "json"))
    websub_hub: str = _setting(
        "", "URL of a WebSub hub to advertise in every feed (`rel=\"hub\"`); empty for none.",
        kind="url-or-empty")
    websub_interval: int = _setting(
        15, "Seconds between two runs of the clock's WebSub job, which sends the queued pings "
        "(the build only queues them, so a slow hub never delays a build).", minimum=1)
    websub_budget: float = _setting(
        10.0, "Seconds one WebSub run may spend sending pings, all of them together (each "
        "request gets at most 10); what is not answered by then is retried later.",
        minimum=0.5)
    websub_concurrency: int = _setting(
        8, "WebSub pings in flight at once.", minimum=1)
    websub_retry_seconds: float = _setting(
        30.0, "Seconds before a failed WebSub ping is tried again; doubles per failure, up "
        "to an hour. A feed that changes again meanwhile keeps one queued ping.", minimum=0.1)
    max_file_size: int = _setting(
        1_048_576, "Largest article file in bytes; larger files are reported and skipped.",
        minimum=1)
    publish_future: bool = _setting(
        False, "Publish scheduled articles (dated in the future) at once and keep expired "
        "ones: for a private preview instance only, never for the public site, whose "
        "subscribers would see them early.")
    min_quality: int = _setting(
        0, "Leave out articles whose upstream `quality` score (0-100) is below this; 0 keeps "
        "all, and articles without a score are always kept.", minimum=0)
    undeclared_topics: str = _setting(
        "report", "What a topic an article names but `topics.yml` lacks becomes: `report` "
        "(a warning per name; no feed, so a typo never creates a public feed) or `feed` "
        "(its own feed, under the slug of its name). Without a `topics.yml`, every name "
        "becomes a feed.", choices=("report", "feed"))
    max_body_size: int = _setting(
        131_072, "Largest Markdown body in characters; a longer one is reported and its article "
        "left out (Markdown rendering is pure Python: some 64 KB bodies cost seconds).",
        minimum=1)
    markdown_budget: float = _setting(
        1.0, "Seconds of Markdown rendering one article may cost; beyond it the article is "
        "reported and left out (the result is cached until the file changes).", minimum=0.01)
    max_topics_per_article: int = _setting(
        20, "Most topics one article may name; an article naming more is reported and left "
        "out.", minimum=1)
    max_topic_feeds: int = _setting(
        1000, "Most topic feeds a build may publish (declared plus undeclared); an article "
        "whose new topics would go beyond it is reported and left out.", minimum=1)
    shrink_limit: float = _setting(
        0.5, "A build that would publish fewer than this fraction of the current generation's "
        "articles is refused unless run as `feedsvc build --allow-shrink` (0: never refuse).",
        minimum=0)
    build_workers: int = _setting(
        0, "Processes used to parse and render a build; 0 means one per CPU core.", minimum=0)
    web_cache_mb: int = _setting(
        256, "Memory per web process for document bodies (MiB); the rest is read from the "
        "store on demand.", minimum=1)
    linkcheck_allow: tuple[str, ...] = _setting(
        (), "Host names or CIDR ranges the link checker may reach even though they are not "
        "public (comma-separated). Empty in production: loopback, private and link-local "
        "addresses are refused.", kind="list")
    linkcheck_concurrency: int = _setting(
        20, "Link checks in flight at once, over all hosts.", minimum=1)
    linkcheck_per_host: int = _setting(
        2, "Link checks in flight at once against one host.", minimum=1)
    linkcheck_host_gap: float = _setting(
        1.0, "Seconds between two requests to the same host.", minimum=0)
    linkcheck_timeout: float = _setting(
        10.0, "Seconds allowed for each network operation (connect, each read).", minimum=0.1)
    linkcheck_deadline: float = _setting(
        30.0, "Seconds of network time allowed for a whole check, redirects and retries "
        "included; time spent waiting for the politeness limits does not count.", minimum=0.5)
    linkcheck_run_budget: float = _setting(
        300.0, "Seconds a link-check run may spend starting checks. URLs that politeness "
        "cannot fit in (their host's queue is too long, or it asked us to wait longer) are "
        "deferred to a later run, never counted as failures.", minimum=1)
    linkcheck_max_redirects: int = _setting(10, "Redirects followed before giving up.", minimum=0)
    linkcheck_claim_seconds: float = _setting(
        120.0, "Seconds a link checker's claim on a host lasts (renewed while it works): how "
        "soon the hosts and URLs of a checker that died are taken up by the others.",
        minimum=5)
    linkcheck_soft404_probe: bool = _setting(
        True, "Ask each host, once per run, for a URL that cannot exist, so that a story "
        "answered with the site's own \"not found\" page (a 200) is recognised as a soft 404.")
    linkcheck_batch: int = _setting(
        500, "Most URLs one scheduled link-check run checks (the ones most overdue first).",
        minimum=1)
    linkcheck_ok_days: float = _setting(
        7.0, "Days before a working link is checked again (spread evenly per URL).", minimum=0.01)
    linkcheck_retry_hours: float = _setting(
        2.0, "Hours before a failing link is checked again; doubles per failure, up to a day.",
        minimum=0.01)
    dead_after_failures: int = _setting(
        3, "Failed checks in a row before a link counts as dead.", minimum=1)
    dead_after_hours: float = _setting(
        24.0, "Hours the failures must span before a link counts as dead.", minimum=0)
    dead_link_policy: str = _setting(
        "archive", "What a feed item whose link is dead points at: `keep` the original, "
        "`archive` (a Web Archive copy from the article's date) or `self` (our article page).",
        choices=("keep", "archive", "self"))
    follow_permanent_redirects: bool = _setting(
        False, "Point items at the final URL when their link redirects permanently (301/308).")
    rate_limit: float = _setting(
        0.0, "Requests per minute allowed per client (0: no limit). A 304 costs a tenth of a "
        "full response, so clients that revalidate may poll ten times as often.", minimum=0)
    rate_limit_burst: float = _setting(
        30.0, "Requests a client may make at once before the rate applies.", minimum=1)
    trust_proxy: int = _setting(
        0, "Proxy hops you run in front of the web (0: none). With N, the client address is the "
        "N-th X-Forwarded-For entry from the right, the one your proxies added (like werkzeug's "
        "ProxyFix); `true` means 1.", minimum=0, kind="hops")
    web_check_interval: float = _setting(
        1.0, "Seconds between a web process's checks for a newer generation (a request "
        "triggers the check; 0 checks on every request).", minimum=0)
    web_header_timeout: float = _setting(
        5.0, "Seconds a client has to send a request's headers before the web closes its "
        "connection, so clients that never finish one (slowloris) cannot hold connections.",
        minimum=0.1)
    web_max_connections: int = _setting(
        16384, "Connections each web worker process holds open at once (granian's "
        "backpressure). Idle and half-sent connections cost little; when this many are held, "
        "new ones wait, so keep it well above what slow clients may hold.", minimum=64)
    web_backlog: int = _setting(
        4096, "Connections the kernel queues for the web before it accepts them (capped by "
        "net.core.somaxconn).", minimum=128)
    access_log: bool = _setting(
        False, "Log every request the web process answers (granian's access log).")
    debug: bool = _setting(
        False, "Show the traceback of a command that fails, as `feedsvc --debug` does.")
    cache_dir: Path = _setting(
        Path("instance/cache"), "Directory for the parsed-article cache that makes "
        "rebuilds incremental; safe to delete.")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def setting_fields() -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(Settings)


def env_name(f: dataclasses.Field[Any]) -> str:
    return ENV_PREFIX + f.name.upper()


def as_environment(settings: Settings) -> dict[str, str]:
    """Every setting as the FEEDSVC_* variables that load back to the same Settings.

    The channel to processes that build their own settings (a WSGI server's
    workers import `create_app()` and call `load_settings()`): explicit and
    whole, so a value set by a command-line option reaches them too."""
    out: dict[str, str] = {}
    for f in setting_fields():
        value = getattr(settings, f.name)
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, tuple):
            text = ",".join(value)
        else:
            text = str(value)
        out[env_name(f)] = text
    return out


def _parse_value(f: dataclasses.Field[Any], raw: str) -> Any:
    meta = f.metadata
    name = env_name(f)
    raw = raw.strip()
    if meta["kind"] == "hops" and raw.lower() in ("true", "yes", "on", "false", "no", "off", ""):
        return 1 if raw.lower() in ("true", "yes", "on") else 0  # the older on/off form
    if f.type in (int, "int"):
        try:
            value: Any = int(raw)
        except ValueError:
            raise SettingsError(f"{name}: expected a whole number, got {raw!r}") from None
        if meta["minimum"] is not None and value < meta["minimum"]:
            raise SettingsError(f"{name}: must be at least {meta['minimum']}, got {value}")
        return value
    if f.type in (float, "float"):
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{name}: expected a number, got {raw!r}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise SettingsError(f"{name}: expected a finite number, got {raw!r}")
        if meta["minimum"] is not None and value < meta["minimum"]:
            raise SettingsError(f"{name}: must be at least {meta['minimum']}, got {value}")
        return value
    if f.type in (bool, "bool"):
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"{name}: expected true or false, got {raw!r}")
    if meta["kind"] == "list":
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    if f.type in (Path, "Path"):
        if not raw:
            raise SettingsError(f"{name}: must not be empty")
        return Path(raw)
    kind = meta["kind"]
    if kind in ("url", "url-or-empty"):
        if kind == "url-or-empty" and not raw:
            return ""
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingsError(f"{name}: expected an absolute http(s) URL, got {raw!r}")
        return raw.rstrip("/") if kind == "url" else raw
    if kind == "tag-authority":
        domain, sep, year = raw.partition(",")
        if not sep or not domain or not (year[:4].isdigit() and len(year) in (4, 7, 10)):
            raise SettingsError(f"{name}: expected 'domain,YYYY' (RFC 4151), got {raw!r}")
        return raw
    if meta["choices"] and raw not in meta["choices"]:
        raise SettingsError(f"{name}: expected one of {', '.join(meta['choices'])}, got {raw!r}")
    return raw


def debug_requested(env: Mapping[str, str] | None = None) -> bool:
    """FEEDSVC_DEBUG on its own: the failure being reported may be a bad setting,
    so the other settings cannot be loaded to find out."""
    f = next(f for f in setting_fields() if f.name == "debug")
    raw = (os.environ if env is None else env).get(env_name(f))
    try:
        return bool(_parse_value(f, raw)) if raw is not None else False
    except SettingsError:
        return False


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from the environment, then explicit overrides (CLI options, tests)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for f in setting_fields():
        raw = env.get(env_name(f))
        if raw is None and f.metadata["fallback_env"]:
            raw = env.get(f.metadata["fallback_env"])
        if raw is not None:
            values[f.name] = _parse_value(f, raw)
    for key, value in overrides.items():
        if value is None:
            continue
        known = next((f for f in setting_fields() if f.name == key), None)
        if known is None:
            raise SettingsError(f"unknown setting {key!r}")
        f = known
        if isinstance(value, str) or (f.metadata["kind"] == "list" and isinstance(value, (list, tuple))):
            value = _parse_value(f, value if isinstance(value, str) else ",".join(value))
        values[key] = value
    return Settings(**values)


def _default_text(f: dataclasses.Field[Any]) -> str:
    default = f.default
    if default in ("", ()):
        return "(empty)"
    if isinstance(default, bool):
        return "`true`" if default else "`false`"
    return f"`{default}`"


def settings_markdown_table() -> str:
    """The settings table as it appears in the README."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for f in setting_fields():
        rows.append(f"| `{env_name(f)}` | {_default_text(f)} | {f.metadata['help']} |")
    return "\n".join(rows) + "\n"


def misspelt_variables(env: Mapping[str, str] | None = None) -> list[str]:
    """A warning per `FEEDSVC_*` variable that is no setting, naming the closest one.

    A misspelt variable (`FEEDSVC_FEEDSIZE`) would otherwise be ignored in
    silence and the default used, which is the failure the strict parsing of
    values exists to prevent. Variables the test suite and the tools read
    (listed in `OTHER_VARIABLES`) are not settings but are not typos either."""
    import difflib

    env = os.environ if env is None else env
    known = [env_name(f) for f in setting_fields()]
    warnings = []
    for name in sorted(env):
        if (not name.startswith(ENV_PREFIX) or name in known or name in OTHER_VARIABLES
                or name.startswith(ENV_PREFIX + "TEST_")):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"warning: {name} is not a feedsvc setting{hint}; it is ignored "
                        "(`feedsvc settings` lists them)")
    return warnings


# FEEDSVC_* variables that are read, but not as settings: the test suite's
# (FEEDSVC_TEST_*) and the golden-file switch. They must not be warned about as typos.
OTHER_VARIABLES = frozenset({"FEEDSVC_REGENERATE_GOLDEN"})
