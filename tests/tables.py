"""Table-driven tests: `@pytest.mark.parametrize(("a", "b"), **table(("case id", a, b), ...))`."""

from __future__ import annotations

from typing import Any


def table(*rows: tuple[Any, ...]) -> dict[str, Any]:
    """`pytest.mark.parametrize` keyword arguments from `(id, *values)` rows."""
    return {"argvalues": [row[1:] for row in rows], "ids": [row[0] for row in rows]}
