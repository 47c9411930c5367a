"""Figure 6 of `make bench`: cold start and idle memory of the packaged plugin against a plugin that does nothing.

The baseline is the harness tests' throwaway `miniecho` plugin (devkit/miniecho.py), whose main.py also
imports `gigachat`: the same dependencies loaded, none of our code. Both are compiled as the daemon compiles an
installed plugin, and started alternately so that both see the same machine.
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

STARTUP_TARGET = 1.2  # within 20% of the minimal plugin
IDLE_SETTLE = 0.5  # seconds after the first heartbeat before reading the RSS: startup garbage is gone by then


def minimal_plugin(folder: Path) -> Path:
    root = folder / "miniecho"
    root.mkdir(parents=True, exist_ok=True)
    files = dict(miniecho.FILES)
    files["main.py"] = "import gigachat  # noqa: F401  (same dependencies as the real plugin)\n" + files["main.py"]
    miniecho.write_plugin(root, files)
    compile_like_daemon(root)
    return root


def cold_start(plugin_dir: Path) -> tuple[float, int]:
    """(seconds from spawning `python -m main` to the first heartbeat read, resident memory when idle)."""
    started = time.perf_counter()
    with PluginProcess(plugin_dir, python=sys.executable) as process:
        process.wait_ready(60)
        ready = process.heartbeats[0] - started
        time.sleep(IDLE_SETTLE)
        return ready, ProcessStats.of(process.pid).rss_bytes


def startup(plugin_dir: Path, runs: int, warm_starts: bool = True) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="gigachat-baseline-") as scratch:
        baseline_dir = minimal_plugin(Path(scratch))
        if warm_starts:  # the first start after install also reads the files from disk, for either plugin
            cold_start(plugin_dir)
            cold_start(baseline_dir)
        ours, theirs = [], []
        for _ in range(runs):
            ours.append(cold_start(plugin_dir))
            theirs.append(cold_start(baseline_dir))
    time_ratio = Stat.of([a[0] / b[0] for a, b in zip(ours, theirs, strict=True)])
    rss_ratio = Stat.of([a[1] / b[1] for a, b in zip(ours, theirs, strict=True)])
    mib = 1 / 2**20
    return [
        Row(
            "6",
            "Cold start: spawn → first heartbeat",
            Stat.of([t for t, _ in ours]).fmt("s"),
            f"{Stat.of([t for t, _ in theirs]).fmt('s')} (minimal plugin)",
            f"{time_ratio.fmt('×')}",
            "≤ 1.2×",
            time_ratio.median <= STARTUP_TARGET,
        ),
        Row(
            "6",
            "Resident memory when idle (RSS)",
            Stat.of([r for _, r in ours]).fmt("MiB", mib, 1),
            f"{Stat.of([r for _, r in theirs]).fmt('MiB', mib, 1)} (minimal plugin)",
            f"{rss_ratio.fmt('×')}",
            "≤ 1.2×",
            rss_ratio.median <= STARTUP_TARGET,
        ),
    ]
