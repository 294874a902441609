"""Run the shell blocks of a Markdown page as a reader would, and compare what they print.

A page is read top to bottom. A ```sh block is a step: its commands run in one
bash, in a scratch copy of the repository, and the ```text block right after it
(prose between them ends the pairing) is what it must print, stdout and stderr
together, as a terminal shows them. Directives are HTML comments, invisible to
the reader, on the lines before the block they govern:

    <!-- doctest: session NAME -->         a new scratch copy and environment from here on
    <!-- doctest: skip REASON -->          the next block is not run (say why)
    <!-- doctest: exit N -->               the next block must exit with status N (default 0)
    <!-- doctest: background UNTIL -->     the next block keeps running (a server): wait until
                                           it prints UNTIL, stop it with Ctrl-C at the end
    <!-- doctest: terminal -->             the next ```text block must appear in the
                                           background process's output (waited for)
    <!-- doctest: contains -->             the expected lines need only appear, in order
    <!-- doctest: run COMMAND -->          a hidden step at this point: what the prose tells
                                           the reader to do by hand (edit a file, wait)
    <!-- doctest: stop TEXT -->            Ctrl-C in the terminal of the background step whose
                                           command has TEXT (the last one without TEXT)
    <!-- doctest: write PATH -->           the next block's text is written to PATH
    <!-- doctest: substitute OLD => NEW --> the next block runs with NEW for OLD: what only
                                           this machine knows (`$port`, `$postgres`), or
                                           what the suite must not do (contact the public
                                           sites of the bundled articles, listen beyond
                                           loopback)
    <!-- doctest: requires postgresql -->  the session needs PostgreSQL (skipped without)

Only what varies from run to run is normalised, on both sides: clock times,
calendar dates, durations, loopback ports and a clock's host and pid. `...` alone
on a line stands for any number of lines, and within a line for any text.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CEILING_S = 300.0  # a step, or a wait for a server, that takes longer has failed

_DIRECTIVE = re.compile(r"^<!--\s*doctest:\s*(\w+)\s*(.*?)\s*-->\s*$")
_FENCE = re.compile(r"^(```+)\s*([\w+-]*)\s*$")


@dataclass
class Step:
    kind: str                 # "run", "background", "terminal", "hidden", "write"
    code: str
    line: int                 # where the block starts in the page (for messages)
    expected: str | None = None
    exit: int = 0
    contains: bool = False
    until: str = ""
    path: str = ""
    skip: str | None = None
    substitute: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Session:
    name: str
    steps: list[Step] = field(default_factory=list)
    requires: set[str] = field(default_factory=set)


def parse_page(text: str) -> list[Session]:
    """The page's sessions and their steps, in order."""
    sessions = [Session("main")]
    pending: list[tuple[str, str]] = []
    lines = text.split("\n")
    index = 0
    last_run: Step | None = None  # a run step whose output block may follow
    while index < len(lines):
        line = lines[index]
        directive = _DIRECTIVE.match(line)
        fence = _FENCE.match(line)
        if directive:
            name, value = directive.group(1), directive.group(2)
            if name == "session":
                sessions.append(Session(value))
                last_run = None
            elif name == "requires":
                sessions[-1].requires.add(value)
            elif name in ("run", "stop"):
                sessions[-1].steps.append(Step("hidden" if name == "run" else "stop", value,
                                               index + 1))
                last_run = None
            else:
                pending.append((name, value))
            index += 1
            continue
        if not fence:
            if line.strip():
                last_run = None  # prose ends the pairing of a command and its output
            index += 1
            continue
        ticks, info = fence.group(1), fence.group(2)
        end = index + 1
        while end < len(lines) and lines[end].strip() != ticks:
            end += 1
        body = "\n".join(lines[index + 1:end])
        start = index + 1
        index = end + 1
        options = dict(pending)
        substitutes = [value for name, value in pending if name == "substitute"]
        pending = []
        if "write" in options:
            sessions[-1].steps.append(Step("write", body, start, path=options["write"]))
            last_run = None
        elif info in ("sh", "bash", "console"):
            step = Step("background" if "background" in options else "run", body, start,
                        exit=int(options.get("exit", 0)), until=options.get("background", ""),
                        skip=options.get("skip"), contains="contains" in options)
            for value in substitutes:
                old, _, replacement = value.partition(" => ")
                step.substitute.append((old, replacement))
            sessions[-1].steps.append(step)
            last_run = step if step.kind == "run" and step.skip is None else None
        elif info == "text" and "terminal" in options:
            sessions[-1].steps.append(Step("terminal", "", start, expected=body,
                                           contains=True))
            last_run = None
        elif info == "text" and last_run is not None:
            last_run.expected = body
            last_run.contains = last_run.contains or "contains" in options
            last_run = None
        else:
            last_run = None
    return [s for s in sessions if s.steps]


# --- comparing output -------------------------------------------------------------------

_VARYING = [
    (re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)"), "YYYY-MM-DD"),
    (re.compile(r"(?<![\d:])\d{2}:\d{2}(:\d{2}(\.\d+)?)?(?![\d:])"), "HH:MM"),
    (re.compile(r"\b\d+(\.\d+)? ?(s|ms)\b"), "N s"),
    (re.compile(r"\b(localhost|127\.0\.0\.1):\d{2,5}\b"), "localhost:PORT"),
    (re.compile(r"\b[\w.-]+:\d+:[0-9a-f]{8}\b"), "HOST:PID:ID"),  # a clock's holder name
    (re.compile(r"\b(duration_s|load_s)=[\d.]+"), r"\1=N"),
]


def normalise(text: str) -> list[str]:
    out = []
    for line in text.replace("\r\n", "\n").split("\n"):
        for pattern, replacement in _VARYING:
            line = pattern.sub(replacement, line)
        out.append(line.rstrip())
    while out and not out[-1]:
        out.pop()
    while out and not out[0]:
        out.pop(0)
    return out


def _line_matches(expected: str, actual: str) -> bool:
    if "..." not in expected:
        return expected == actual
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, actual) is not None


def _match_from(expected: list[str], actual: list[str]) -> bool:
    """Every line, in order, with `...` lines standing for any number of lines."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(_match_from(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and _line_matches(head, actual[0]) and _match_from(rest, actual[1:])


def output_matches(expected: str, actual: str, *, contains: bool) -> bool:
    want, got = normalise(expected), normalise(actual)
    if contains:
        want = ["...", *want, "..."]
    return _match_from(want, got)


# --- running ----------------------------------------------------------------------------

class Background:
    """A step left running (a server), its output collected as it comes."""

    def __init__(self, command: str, script: str, cwd: Path, env: dict[str, str]) -> None:
        self.command = command
        self.process = subprocess.Popen(["bash", "-c", script], cwd=cwd, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        self.output = b""
        self.ended = False
        self.seen = 0  # how much of the output a `terminal` block has matched already
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := self.process.stdout.read1(65536):
            with self.changed:
                self.output += chunk
                self.changed.notify_all()
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")

    def wait_until(self, found: object, what: str, ceiling: float = CEILING_S, *,
                   advance: bool = True) -> None:
        """Wait for `found(output not matched yet)` to hold; fail with the output after the
        ceiling. `advance`: what was read counts as matched (a `terminal` block's lines)."""
        deadline = time.monotonic() + ceiling
        with self.changed:
            while not found(self.output[self.seen:].decode("utf-8", "replace")):  # type: ignore[operator]
                left = deadline - time.monotonic()
                if left <= 0 or self.ended:
                    raise AssertionError(f"never printed {what}\n--- it printed (the end):\n"
                                         f"{self.text[-4000:]}")
                self.changed.wait(min(left, 1.0))
            if advance:
                self.seen = len(self.output)

    def stop(self) -> None:
        """Ctrl-C, as a person stops it; SIGKILL after the ceiling."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(60)


@dataclass
class Runner:
    """One session: a scratch copy, an environment, and the servers it started."""

    root: Path
    state: Path
    env: dict[str, str]
    values: dict[str, str]
    backgrounds: list[Background] = field(default_factory=list)

    def _script(self, code: str) -> str:
        env_file, cwd_file = self.state / "env.sh", self.state / "cwd"
        return (f"[ -f {shlex.quote(str(env_file))} ] && . {shlex.quote(str(env_file))}\n"
                f"[ -f {shlex.quote(str(cwd_file))} ] && cd \"$(cat {shlex.quote(str(cwd_file))})\"\n"
                "set -eo pipefail\n"
                f"{code}\n"
                f"export -p > {shlex.quote(str(env_file))}; pwd > {shlex.quote(str(cwd_file))}\n")

    def _code(self, step: Step) -> str:
        code = step.code
        for old, new in step.substitute:
            code = code.replace(old, re.sub(r"\$(\w+)", lambda m: self.values[m.group(1)], new))
        return code

    def run(self, step: Step, where: str) -> None:
        if step.kind == "write":
            target = self.root / step.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(step.code + "\n", encoding="utf-8")
        elif step.kind == "background":
            background = Background(step.code,
                                    self._script(f"exec bash -c {shlex.quote(self._code(step))}"),
                                    self.root, self.env)
            self.backgrounds.append(background)
            background.wait_until(lambda out: step.until in out, f"{step.until!r} ({where})",
                                  advance=False)
        elif step.kind == "stop":
            [*_, background] = (b for b in self.backgrounds if step.code in b.command)
            background.stop()
        elif step.kind == "terminal":
            background = self.backgrounds[-1]
            expected = step.expected or ""
            background.wait_until(
                lambda out: output_matches(expected, out, contains=True),
                f"what {where} shows:\n{expected}")
        else:
            self._foreground(step, where)

    def _foreground(self, step: Step, where: str) -> None:
        done = subprocess.run(["bash", "-c", self._script(self._code(step))], cwd=self.root,
                              env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, timeout=CEILING_S, check=False)
        output = done.stdout.decode("utf-8", "replace")
        if done.returncode != step.exit:
            raise AssertionError(f"{where}: exit status {done.returncode}, the page says "
                                 f"{step.exit}:\n$ {step.code}\n{output}")
        if step.expected is not None and not output_matches(step.expected, output,
                                                            contains=step.contains):
            raise AssertionError(f"{where}: the output differs from the page's.\n"
                                 f"$ {step.code}\n--- the page shows:\n{step.expected}\n"
                                 f"--- it printed:\n{output}")

    def close(self) -> None:
        for background in reversed(self.backgrounds):
            background.stop()
