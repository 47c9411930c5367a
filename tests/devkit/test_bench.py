"""`make bench` still runs: `python -m devkit.bench --quick` runs every figure once, at the smallest sizes that take
each figure's code path, and prints the whole table; the embeddings benchmark measures what it says. Both run on the
test worker's plugin process and emulator.

Only that they work is checked, never a timing: figures measured inside a test run on a busy machine mean nothing.
"""

from __future__ import annotations

import os
from contextlib import nullcontext

import pytest

from devkit.bench import __main__ as bench
from devkit.bench.embeddings import bench_embeddings
from devkit.rig import Rig

pytestmark = pytest.mark.devkit
FIGURES = ("| 1 |", "| 2 |", "| 3 |", "| 4 |", "| 5 |", "| 6 |", "| 7 |", "| 8 |")


@pytest.fixture
def shared_rig(rig: Rig, emu, monkeypatch: pytest.MonkeyPatch) -> Rig:
    """The worker's rig in place of a new one, and the environment the bench changes restored afterwards."""
    for name in (*(n for n in os.environ if n.startswith("GIGACHAT_")), "PYTHONUNBUFFERED", "NO_PROXY", "no_proxy"):
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(bench, "running_rig", lambda: nullcontext(rig))
    return rig


def test_the_quick_bench_prints_the_whole_table(shared_rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--quick"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| # | Measure | Plugin | Baseline"), lines
    for figure in FIGURES:
        assert any(line.startswith(figure) for line in lines), f"figure {figure} missing:\n" + "\n".join(lines)


def test_the_embeddings_benchmark_runs_on_a_tiny_corpus(rig: Rig, emu) -> None:
    result = bench_embeddings(rig, chunks=40, latency=0.0)
    assert result.plugin.oauth_calls == result.sequential.oauth_calls == 1
    assert result.plugin.http_requests == result.sequential.http_requests == len(result.batch_sizes)
    assert sum(result.batch_sizes) == 40
    assert result.speedup > 0
