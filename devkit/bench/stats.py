"""How every figure of `make bench` is reported: over several runs, the median run and the range of runs, one table
row per measure, each beside its baseline measured in the same run."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from devkit import table


@dataclass(frozen=True)
class Stat:
    """One figure over several runs: the median run and the range of runs."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Stat:
        if not values:
            raise ValueError("a figure needs at least one run")
        return cls(tuple(values))

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def fmt(self, unit: str = "", scale: float = 1.0, digits: int = 2) -> str:
        def one(value: float) -> str:
            return f"{value * scale:,.{digits}f}"

        lo, hi = min(self.values), max(self.values)
        spread = "" if len(self.values) == 1 or one(lo) == one(hi) else f" ({one(lo)}–{one(hi)})"
        suffix = unit if unit in ("", "×") else " " + unit  # "3.2×", but "1.5 ms"
        return f"{one(self.median)}{suffix}{spread}"


def ms(stat: Stat, digits: int = 2) -> str:
    return stat.fmt("ms", 1000.0, digits)


def differences(a: Sequence[float], b: Sequence[float]) -> Stat:
    """Per-run differences: both sides of a run share the machine's state at that moment."""
    return Stat.of([x - y for x, y in zip(a, b, strict=True)])


def per_run_median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


@dataclass(frozen=True)
class Row:
    figure: str
    measure: str
    plugin: str
    baseline: str
    delta: str = ""
    target: str = ""
    met: bool | None = None  # None: no target for this row


HEADER = ("#", "Measure", "Plugin", "Baseline, same run", "Plugin adds", "Target", "Met")
MET = {True: "yes", False: "**no**", None: ""}


def markdown(rows: Sequence[Row]) -> str:
    cells = [(r.figure, r.measure, r.plugin, r.baseline, r.delta, r.target, MET[r.met]) for r in rows]
    return table.markdown(HEADER, cells)
