"""Figure 6 of `make bench`: cold start and idle memory of the packaged plugin against an empty dify_plugin plugin.

Dify's serverless runtime pays a cold start per instance, so the plugin should start about as fast, and sit about as
small, as a plugin with no code of its own. The baseline is devkit/miniecho.py: a model provider on dify_plugin alone,
nothing else imported. Both are installed as the daemon installs a plugin (compiled), started alternately in the same
run so that both see the same machine, and measured from spawning `python -m main` to the first heartbeat, then for
resident memory once idle. Target: within 1.1x of the baseline on both.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from devkit import miniecho
from devkit.bench.stats import Row, Stat
from devkit.harness import PluginProcess
from devkit.rig import ProcessStats, compile_like_daemon

TARGET = 1.1  # at most 10% slower to start, and 10% larger when idle, than the empty plugin


def empty_plugin(folder: Path) -> Path:
    root = miniecho.write_plugin(folder / "miniecho", miniecho.FILES)
    compile_like_daemon(root)
    return root


def cold_start(plugin_dir: Path, settle: float) -> tuple[float, int]:
    """(seconds from spawning `python -m main` to the first heartbeat read, resident memory `settle` seconds later)."""
    started = time.perf_counter()
    with PluginProcess(plugin_dir, python=sys.executable) as process:
        process.wait_ready(60)
        ready = process.heartbeats[0] - started
        time.sleep(settle)
        return ready, ProcessStats.of(process.pid).rss_bytes


def startup(plugin_dir: Path, runs: int, warm_starts: bool = True, settle: float = 0.5) -> list[Row]:
    """`settle`: seconds from the first heartbeat to reading the RSS (startup garbage is gone after half a second)."""
    with tempfile.TemporaryDirectory(prefix="gigachat-baseline-") as scratch:
        baseline_dir = empty_plugin(Path(scratch))
        if warm_starts:  # the first start after install also reads the files from disk, for either plugin
            cold_start(plugin_dir, settle)
            cold_start(baseline_dir, settle)
        ours, theirs = [], []
        for _ in range(runs):
            ours.append(cold_start(plugin_dir, settle))
            theirs.append(cold_start(baseline_dir, settle))
    measures = [
        ("Cold start: spawn → first heartbeat", "s", 1.0, 2),
        ("Resident memory when idle (RSS)", "MiB", 2**-20, 1),
    ]
    rows = []
    for index, (measure, unit, scale, digits) in enumerate(measures):
        plugin, baseline = [run[index] for run in ours], [run[index] for run in theirs]
        ratio = Stat.of([a / b for a, b in zip(plugin, baseline, strict=True)])
        rows.append(
            Row(
                "6",
                measure,
                Stat.of(plugin).fmt(unit, scale, digits),
                f"{Stat.of(baseline).fmt(unit, scale, digits)} (empty dify_plugin plugin)",
                ratio.fmt("×"),
                f"≤ {TARGET}×",
                ratio.median <= TARGET,
            )
        )
    return rows
