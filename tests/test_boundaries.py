"""The store is the one place that speaks SQL to the store's database: no module
outside `feedsvc/store/` imports SQLAlchemy, the PostgreSQL driver, Alembic or the
store's tables, even inside a function. (The loader's parse cache is a file of its
own in the cache directory, read with the standard library's sqlite3: not the store.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "feedsvc"
SQL_MODULES = ("sqlalchemy", "psycopg", "alembic", "feedsvc.store.tables")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or in a function (`from x import y`
    counts as x and x.y)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def speaks_sql(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in SQL_MODULES)


OUTSIDE = sorted(p for p in PACKAGE.rglob("*.py") if "store" not in p.relative_to(PACKAGE).parts[:1])


@pytest.mark.parametrize("path", OUTSIDE, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_only_the_store_speaks_sql(path):
    assert sorted(m for m in imported_modules(path) if speaks_sql(m)) == []


def test_the_check_sees_what_it_looks_for(tmp_path):
    """The walk finds imports in functions and `from` forms (so the test above can fail)."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from sqlalchemy import text\n    import psycopg\n"
                      "from feedsvc.store import tables\n")
    assert sorted(m for m in imported_modules(sample) if speaks_sql(m)) == [
        "feedsvc.store.tables", "psycopg", "sqlalchemy", "sqlalchemy.text"]
