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
from typing import Any
from urllib.parse import urlsplit

ENV_PREFIX = "FEEDSVC_"


class SettingsError(ValueError):
    """A setting has a value feedsvc cannot use."""


def _setting(default: Any, help: str, *, minimum: int | None = None,
             choices: tuple[str, ...] | None = None, kind: str | None = None,
             fallback_env: str | None = None) -> Any:
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
    websub_hub: str = _setting(
        "", "URL of a WebSub hub to advertise in every feed (`rel=\"hub\"`); empty for none.",
        kind="url-or-empty")
    max_file_size: int = _setting(
        1_048_576, "Largest article file in bytes; larger files are reported and skipped.",
        minimum=1)
    build_workers: int = _setting(
        0, "Processes used to parse and render a build; 0 means one per CPU core.", minimum=0)
    web_cache_mb: int = _setting(
        256, "Memory per web process for document bodies (MiB); the rest is read from the "
        "store on demand.", minimum=1)
    cache_dir: Path = _setting(
        Path("instance/cache"), "Directory for the parsed-article cache that makes "
        "rebuilds incremental; safe to delete.")

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def site_authority(self) -> str:
        return urlsplit(self.base_url).netloc


def setting_fields() -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(Settings)


def env_name(f: dataclasses.Field) -> str:
    return ENV_PREFIX + f.name.upper()


def _parse_value(f: dataclasses.Field, raw: str) -> Any:
    meta = f.metadata
    name = env_name(f)
    raw = raw.strip()
    if f.type in (int, "int"):
        try:
            value: Any = int(raw)
        except ValueError:
            raise SettingsError(f"{name}: expected a whole number, got {raw!r}") from None
        if meta["minimum"] is not None and value < meta["minimum"]:
            raise SettingsError(f"{name}: must be at least {meta['minimum']}, got {value}")
        return value
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
        f = next((f for f in setting_fields() if f.name == key), None)
        if f is None:
            raise SettingsError(f"unknown setting {key!r}")
        values[key] = _parse_value(f, str(value)) if isinstance(value, str) else value
    return Settings(**values)


def _default_text(f: dataclasses.Field) -> str:
    default = f.default
    return f"`{default}`" if default != "" else "(empty)"


def settings_markdown_table() -> str:
    """The settings table as it appears in the README."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for f in setting_fields():
        rows.append(f"| `{env_name(f)}` | {_default_text(f)} | {f.metadata['help']} |")
    return "\n".join(rows) + "\n"
