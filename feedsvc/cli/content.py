"""Content commands: the editor's loop of writing and checking articles.

`check`, `new`, `topics` and `preview` read the content directory (and, when
one has been published to, the store) and never publish anything.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from feedsvc.cli.base import OneLineError, content_option, existing_store, load, main
from feedsvc.models import Severity

if TYPE_CHECKING:
    from feedsvc.build import ContentSummary
    from feedsvc.models import Problem
    from feedsvc.settings import Settings


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False, exists=True))
@content_option
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Report as human-readable lines or as JSON.")
def check(files: tuple[Path, ...], content_dir: Path | None, output_format: str) -> None:
    """Validate the content directory (or only FILES) without publishing anything.

    Lists every problem of every file as `path:line: severity: reason`, paths
    relative to the current directory (so editors can open them), then a
    summary. With FILES, only their problems are shown; files inside the
    content directory are checked with the rest of it (duplicates, topics,
    renames), files outside it on their own against its topics.yml. Exits
    with status 1 when there is at least one error.

    \b
    Examples:
      feedsvc check
      feedsvc check content/2026-03-01-new-article.md
      feedsvc check --content drafts/ --format json | jq .errors
    """
    from feedsvc.build import check_content, check_files
    from feedsvc.content.terminal import content_relative

    settings = load(content_dir=content_dir)
    inside, outside = content_relative(files, settings.content_dir)
    summary = check_content(settings, store=existing_store(settings))
    problems = summary.problems
    if files:
        problems = [p for p in problems if p.path in inside] + check_files(settings, outside)
    if output_format == "json":
        _check_json(settings, summary, problems, partial=bool(files))
    else:
        _check_text(settings, summary, problems, files, inside)
    sys.exit(1 if any(p.severity == Severity.ERROR for p in problems) else 0)


def _count(problems: list[Problem], severity: Severity) -> int:
    return sum(1 for p in problems if p.severity == severity)


def _check_json(settings: Settings, summary: ContentSummary, problems: list[Problem], *,
                partial: bool) -> None:
    """`check --format json`: the whole summary, or (`partial`, FILES given) its figures
    replaced by those of the files' own problems."""
    from feedsvc.build import problem_json
    from feedsvc.content.terminal import shown_path

    def file_of(path: str) -> str:
        return shown_path(path, settings.content_dir)

    data = summary.as_json(file_of)
    if partial:
        data["problems"] = [problem_json(p, file_of) for p in problems]
        data["errors"] = _count(problems, Severity.ERROR)
        data["warnings"] = _count(problems, Severity.WARNING)
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _check_text(settings: Settings, summary: ContentSummary, problems: list[Problem],
                files: tuple[Path, ...], inside: set[str]) -> None:
    """`check` for people: one line per problem and scheduled change, then the figures."""
    from feedsvc.content.terminal import problem_line, schedule_line

    for problem in problems:
        click.echo(problem_line(problem, settings.content_dir))
    for change in summary.schedule:
        if not files or change.path in inside:
            click.echo(schedule_line(change, settings.content_dir))
    if files:
        click.echo(f"{len(files)} file(s) checked: {_count(problems, Severity.ERROR)} errors, "
                   f"{_count(problems, Severity.WARNING)} warnings")
    else:
        click.echo(summary.line())


@main.command("new")
@click.argument("title")
@click.option("--url", required=True, help="Address of the original article (absolute http or https).")
@click.option("--topic", "topics", multiple=True, required=True,
              help="A topic from topics.yml, by slug, title or alias (repeatable).")
@click.option("--source", help="The outlet that published it (shown as the entry's author).")
@content_option
def new_command(title: str, url: str, topics: tuple[str, ...], source: str | None,
                content_dir: Path | None) -> None:
    """Write a new, dated article file that `feedsvc check` passes clean.

    The file is content/YYYY-MM-DD-<title words>.md with today's date (UTC),
    the title, the link, the topics (as topics.yml names them), the outlet
    and an explicit `id:`, so that renaming the file later never publishes
    it again as a new item. Add a summary and a body, then run
    `feedsvc check` on it.

    \b
    Examples:
      feedsvc new "Regulators fine a face-matching firm" --url https://example.org/fine \\
          --topic "Facial recognition" --topic privacy --source "Example News"
    """
    from feedsvc.content.parse import check_url
    from feedsvc.content.scaffold import new_article
    from feedsvc.models import utcnow

    settings = load(content_dir=content_dir)
    try:
        link = check_url(url)
    except ValueError as exc:
        raise OneLineError(f"--url: {exc}") from None
    article = new_article(title, link, _topic_names(settings, topics), source,
                          utcnow().replace(microsecond=0), settings.id_authority)
    path = settings.content_dir / article.name
    if path.exists():
        raise OneLineError(f"{path} exists already; choose another title")
    settings.content_dir.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as out:
        out.write(article.text)
    click.echo(f"wrote {path}\n  add a summary and the text, then: feedsvc check {path}")


def _topic_names(settings: Settings, topics: tuple[str, ...]) -> list[str]:
    """The `--topic`s as topics.yml names them; one not in it is refused (with the
    closest name) unless the taxonomy is empty or undeclared topics get feeds."""
    from feedsvc.content.topics import load_taxonomy

    taxonomy, _ = load_taxonomy(settings.content_dir)
    names: list[str] = []
    for name in topics:
        slug = taxonomy.lookup(name)
        if slug is not None:
            names.append(taxonomy.topics[slug].title)
            continue
        if taxonomy.topics and settings.undeclared_topics != "feed":
            guess = taxonomy.suggest(name)
            hint = f" (did you mean {guess!r}?)" if guess else ""
            raise OneLineError(f"--topic: {name!r} is not in topics.yml{hint}; `feedsvc topics` "
                               "lists them")
        names.append(name)
    return names


@main.command("topics")
@content_option
def topics_command(content_dir: Path | None) -> None:
    """List the topics of topics.yml with their article counts and aliases.

    Topics that articles name but topics.yml lacks are listed after them,
    with the declared name each is closest to.

    \b
    Examples:
      feedsvc topics
      feedsvc topics --content drafts/
    """
    from feedsvc.build import check_content

    summary = check_content(load(content_dir=content_dir))
    taxonomy, catalog = summary.load.taxonomy, summary.catalog
    rows = [(slug, len(catalog.by_topic.get(slug, ())), topic) for slug, topic in catalog.topics.items()]
    width = max([len(slug) for slug, _, _ in rows] + [4])
    click.echo(f"{'slug':<{width}}  articles  title")
    for slug, count, topic in rows:
        aliases = f"  (aliases: {', '.join(topic.aliases)})" if topic.aliases else ""
        declared = "" if topic.declared else "  [not in topics.yml]"
        click.echo(f"{slug:<{width}}  {count:>8}  {topic.title}{aliases}{declared}")
    _undeclared_topics(summary)
    if summary.schedule:
        click.echo("\nscheduled (in no feed until then):")
        for change in summary.schedule:
            named = f" [{', '.join(change.topics)}]" if change.topics else ""
            click.echo(f"  {change.at.isoformat()}  {change.action}  {change.path}{named}")
    scheduled = f", {summary.scheduled} scheduled" if summary.scheduled else ""
    click.echo(f"\n{len(taxonomy.topics)} topics in topics.yml, {len(catalog.articles)} articles"
               f"{scheduled}")


def _undeclared_topics(summary: ContentSummary) -> None:
    """The topics articles name that topics.yml lacks (they get no feed), each with the
    declared name it is closest to: usually a typo."""
    taxonomy = summary.load.taxonomy
    unknown: dict[str, int] = {}
    for article in summary.catalog.articles:
        for name in article.topic_names:
            if taxonomy.lookup(name) is None:
                unknown[name] = unknown.get(name, 0) + 1
    if unknown and taxonomy.topics:
        click.echo("\nnamed by articles but not in topics.yml (no feed):")
        for name, count in sorted(unknown.items()):
            guess = taxonomy.suggest(name)
            hint = f"; did you mean {guess!r}?" if guess else ""
            click.echo(f"  {name!r}: {count} article(s){hint}")


@main.command("preview")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@content_option
@click.option("--format", "formats", multiple=True, metavar="FORMAT",
              help="Only this format (rss, atom, json; repeatable). Default: all of them.")
def preview_command(file: Path, content_dir: Path | None, formats: tuple[str, ...]) -> None:
    """Print one article's entry as every feed will publish it: RSS, Atom and JSON Feed.

    The same code renders the entry as the build does: the topics it resolves
    to, its links (dead-link policy included, when the store has checked
    them) and its content, byte for byte what the feeds will hold.

    \b
    Examples:
      feedsvc preview content/2026-03-01-new-article.md
      feedsvc preview content/2026-03-01-new-article.md --format atom
    """
    from feedsvc.build import feed_options, preview_article
    from feedsvc.content.terminal import problem_line
    from feedsvc.render.formats import feed_formats, render_entries

    settings = load(content_dir=content_dir)
    known = [f.name for f in feed_formats()]
    for name in formats:
        if name not in known:
            raise OneLineError(f"--format: {name!r} is not one of {', '.join(known)}")
    article, topics, problems = preview_article(settings, file, existing_store(settings))
    for problem in problems:
        click.echo(problem_line(problem, settings.content_dir), err=True)
    if article is None:
        raise OneLineError(f"{file} would not be published (see the problems above)")
    now = datetime.now(UTC)
    if article.published > now:
        click.echo(f"scheduled: in no feed until {article.published.isoformat()}", err=True)
    if article.expires is not None:
        gone = "expired" if article.expires <= now else "expires"
        click.echo(f"{gone}: in no feed from {article.expires.isoformat()}", err=True)
    entries = render_entries([article], topics, feed_options(settings))[0]
    for feed_format in feed_formats():
        if formats and feed_format.name not in formats:
            continue
        click.echo(f"==> {feed_format.label} ({feed_format.media_type}) <==")
        click.echo(entries[feed_format.name].decode("utf-8"))
        click.echo("")
