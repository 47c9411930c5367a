"""`make bench` still runs: `python -m devkit.bench --quick` runs every figure once, with tiny sizes, and prints
its table.

Only that it works is checked, never a timing: figures measured inside a test run on a busy machine mean nothing.
It runs as a child process because the bench drives the plugin from threads, and this test process may already
have been gevent-patched by another test's `import dify_plugin`.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from devkit import ROOT

pytestmark = pytest.mark.devkit
FIGURES = ("| 1 |", "| 2 |", "| 3 |", "| 4 |", "| 5 |", "| 6 |", "| 7 |", "| 8 |")


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
