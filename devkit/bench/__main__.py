"""`make bench`: what the plugin adds on top of GigaChat, measured against the best possible baseline.

    .venv/bin/python -m devkit.bench [--quick] [--runs N] [--only 1,2,...] [--profile FILE]

Packages the plugin, installs it into a temporary folder as Dify's daemon does (extract, compileall) and runs it
with `python -m main` over stdio (devkit/harness) against the GigaChat emulator (devkit/emulator) on loopback. Every
figure is measured over several runs, each beside its baseline measured in the same run: the same requests made
directly with the `gigachat` SDK and one cached client. Prints a Markdown table of the median run and the range of
runs (min–max). The figures are what docs/performance.md shows; no test asserts on timings.

Modules: devkit/rig.py (plugin, emulator, account), stats.py (statistics, the table), calls.py (figures 1-5),
inproc.py (figure 4's in-process timing, in a child process), startup.py (6), throughput.py (7), growth.py (8),
profile.py (--profile: py-spy on the plugin process); figure 5 is embeddings.py's measurement.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from devkit.bench import calls as bench_calls
from devkit.bench import growth as bench_growth
from devkit.bench import profile as bench_profile
from devkit.bench import startup as bench_startup
from devkit.bench import throughput as bench_throughput
from devkit.bench.stats import Row, markdown
from devkit.rig import Rig, isolate_environment, running_rig


@dataclass(frozen=True)
class Sizes:
    runs: int
    invocations: int  # figure 1
    calls: int  # figures 2 and 4, per run
    streams: int  # figure 3, per run
    chunks: int  # figure 5
    rounds: int  # figure 7: waves of `sessions` concurrent sessions per run
    sessions: int = 64  # figure 7
    latency: float = 0.05  # figure 5: seconds the emulator takes to answer an embeddings request
    pieces: int = 5000  # figure 8: streamed chunks of the smaller input (user messages: four times as many)
    warm_starts: bool = True  # figure 6: one unmeasured start of each plugin first
    settle: float = 0.5  # figure 6: seconds after the first heartbeat before reading the idle memory


FULL = Sizes(runs=5, invocations=200, calls=100, streams=6, chunks=1000, rounds=4, pieces=5000)
# Checks that every figure runs, and nothing more: the smallest sizes that still take each figure's code path.
QUICK = Sizes(
    1,
    invocations=10,
    calls=2,
    streams=1,
    chunks=32,
    rounds=1,
    sessions=8,
    latency=0.01,
    pieces=50,
    warm_starts=False,
    settle=0,
)


def figures(rig: Rig, s: Sizes) -> dict[str, Callable[[], list[Row]]]:
    return {
        "1": lambda: bench_calls.authentication(rig, s.runs, s.invocations),
        "2": lambda: bench_calls.blocking_latency(rig, s.runs, s.calls),
        "3": lambda: bench_calls.streaming(rig, s.runs, s.streams),
        "4": lambda: bench_calls.token_counting(rig, s.runs, s.calls),
        "5": lambda: bench_calls.embeddings(rig, s.runs, s.chunks, s.latency),
        "6": lambda: bench_startup.startup(rig.plugin_dir, s.runs, s.warm_starts, s.settle),
        "7": lambda: bench_throughput.throughput(rig, s.runs, s.rounds, s.sessions),
        "8": lambda: bench_growth.growth(rig, s.runs, s.pieces, 4 * s.pieces),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run: checks that the bench works")
    parser.add_argument("--runs", type=int, help="runs per figure (default 5; 1 with --quick)")
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8", help="comma-separated figure numbers")
    parser.add_argument("--profile", type=Path, help="sample the plugin with py-spy into this file; print whose CPU")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.runs:
        sizes = replace(sizes, runs=args.runs)
    wanted = [f.strip() for f in args.only.split(",") if f.strip()]
    started = time.perf_counter()
    rows: list[Row] = []
    isolate_environment()
    with running_rig() as rig:
        rig.warm_up()
        table = figures(rig, sizes)
        profiling = bench_profile.sampling(rig.plugin.pid, args.profile) if args.profile else nullcontext()
        with profiling:
            for number in wanted:
                figure_started = time.perf_counter()
                rows += table[number]()
                took = time.perf_counter() - figure_started
                print(f"figure {number}: {took:.1f} s", file=sys.stderr, flush=True)
    print(markdown(rows))
    # Other work on the machine shows in latency and throughput first: the load average says how quiet it was.
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\n{sizes.runs} run(s) per figure; median run (min–max of runs). {os.cpu_count()} CPU cores, "
        f"load average {load}, Python {platform.python_version()}, {platform.machine()}; "
        f"bench took {time.perf_counter() - started:.0f} s."
    )
    if args.profile:
        print(f"\nWhere the plugin process spent its CPU (py-spy samples in {args.profile}):\n")
        print("(Sampling stops the plugin many times a second: the timings above are not valid in this mode.)\n")
        print(bench_profile.breakdown(args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
