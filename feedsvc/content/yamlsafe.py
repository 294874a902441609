"""YAML loading for front matter that editors can trust.

PyYAML follows YAML 1.1, which turns `2021-04-18` into a `date`, `10:00` into
the integer 600 and shares aliased nodes. Front matter wants none of that:
timestamps stay strings (the date parser validates them and keeps their zone),
sexagesimal numbers stay strings, and aliased collections are refused because a
"billion laughs" document is tiny to parse but explodes whoever walks it.
libyaml's C loader is used when present: it is about 8x faster.
"""

from __future__ import annotations

from typing import Any

import yaml

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# The base is chosen at run time (the C loader when libyaml is there), which mypy
# cannot follow as a base class; both are SafeLoader in behaviour.
class FrontMatterLoader(_Base):  # type: ignore[misc, valid-type]
    """Safe loader that keeps timestamps and `hh:mm` values as the text written."""


def _keep_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


def _int_unless_sexagesimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int | str:
    text: str = loader.construct_scalar(node)
    if ":" in text:
        return text
    return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)


def _float_unless_sexagesimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float | str:
    text: str = loader.construct_scalar(node)
    if ":" in text:
        return text
    return yaml.constructor.SafeConstructor.construct_yaml_float(loader, node)


FrontMatterLoader.add_constructor("tag:yaml.org,2002:timestamp", _keep_text)
FrontMatterLoader.add_constructor("tag:yaml.org,2002:int", _int_unless_sexagesimal)
FrontMatterLoader.add_constructor("tag:yaml.org,2002:float", _float_unless_sexagesimal)


class AliasedCollectionError(ValueError):
    pass


def load_yaml(text: str) -> Any:
    """Parse YAML text; raise yaml.YAMLError, AliasedCollectionError or RecursionError."""
    value = yaml.load(text, Loader=FrontMatterLoader)  # noqa: S506 - a SafeLoader subclass
    if "*" in text:
        _refuse_shared_collections(value)
    return value


def _refuse_shared_collections(value: Any) -> None:
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if id(item) in seen:
            raise AliasedCollectionError(
                "YAML aliases (*name) of lists or mappings are not allowed in front matter")
        seen.add(id(item))
        stack.extend(children)


def error_location(exc: yaml.YAMLError) -> tuple[int, str]:
    """(line, reason) of a YAML error, blaming the line of the cause.

    PyYAML marks where it noticed the problem. For an unclosed quote or bracket
    that is the end of the document (the closing `---` of front matter), far
    from the mistake; its `context_mark` is where the quote or bracket opened,
    and the same goes for a key missing its colon. Lines are 1-based within
    the text parsed."""
    mark = getattr(exc, "problem_mark", None)
    problem = str(getattr(exc, "problem", None) or str(exc).split("\n")[0])
    context = getattr(exc, "context", None)
    started = getattr(exc, "context_mark", None)
    blames_opening = ("end of stream" in problem or "<stream end>" in problem
                      or "could not find expected ':'" in problem)
    if started is not None and blames_opening:
        mark = started
    line = mark.line + 1 if mark is not None else 1
    return line, problem + (f" ({context})" if context else "")
