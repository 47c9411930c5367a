"""`make bench` still runs: `python -m devkit.bench --quick`, as `make bench` starts it, runs every figure once at
the smallest sizes that take each figure's code path, and prints the whole table.

Only that it works is checked, never a timing: figures measured inside a test run on a busy machine mean nothing.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from devkit import ROOT

pytestmark = pytest.mark.devkit
FIGURES = ("| 1 |", "| 2 |", "| 3 |", "| 4 |", "| 5 |", "| 6 |", "| 7 |")


def test_quick_bench_prints_the_whole_table() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devkit.bench", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("| # | Measure | Plugin | Baseline"), result.stdout
    for figure in FIGURES:
        assert any(line.startswith(figure) for line in lines), f"figure {figure} missing:\n{result.stdout}"
