"""The docs say what the code does: generated parts match their generators, links resolve."""

from __future__ import annotations

import re

from feedsvc.clidoc import cli_reference, command_paths
from tests.conftest import REPO

DOCS = REPO / "docs"


def test_cli_reference_matches_every_commands_help(restored_environ):
    written = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert written == cli_reference(), (
        "docs/cli.md is out of date: run `python -m feedsvc.clidoc > docs/cli.md`")


def test_cli_reference_has_a_section_per_command():
    written = (DOCS / "cli.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## feedsvc ?(.*)$", written, flags=re.M)
    assert sections == ["", *(" ".join(path) for path in command_paths())]
    assert {"check", "new", "topics", "preview", "serve"} <= set(sections)


def test_every_relative_link_in_the_readme_and_docs_resolves():
    broken = []
    for page in [REPO / "README.md", *sorted(DOCS.glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # an absolute URL: not checked here (no network in tests)
            if target.startswith("images/") or "/images/" in target:
                continue  # screenshots, written by the browser tests
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(REPO)} -> {target}")
    assert not broken, broken
