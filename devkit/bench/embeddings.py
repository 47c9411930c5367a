"""Embeddings benchmark: index a knowledge base through the packaged plugin, against a plain sequential SDK loop.

    .venv/bin/python -m devkit.bench.embeddings [--chunks 1000] [--latency 0.05] [--sweep 1,2,4,10]

The plugin is packaged, extracted and run as Dify's daemon runs it (devkit/harness), against the GigaChat emulator
answering every request after `latency` seconds and refusing (429) requests beyond the scope's stream limit, as
GigaChat does: one for GIGACHAT_API_PERS, ten for B2B and CORP; a run in which the plugin exceeded it is an error.
Dify indexes the way `CacheEmbedding.embed_documents` does: calls of `max_chunks` texts, one after another (one
indexing worker), or its IndexingRunner's 10 workers at once. The baseline sends exactly the requests the plugin sent
(same texts, same batch sizes), one after another through the `gigachat` SDK. `bench_embeddings()` returns the
figures; `make bench` (devkit/bench/__main__.py) imports it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from devkit import table
from devkit.emulator import GigaChatEmulator
from devkit.emulator.client import make_client
from devkit.harness import PluginProcess
from devkit.rig import Rig, cpu_seconds, embedding_request, fresh_key, isolate_environment, max_chunks, running_rig
from models.common.settings import STREAMS_PER_SCOPE, default_embedding_parallelism

# Indexing a knowledge base of a thousand chunks is a business's job; an individual's scope has a single stream.
BUSINESS = "GIGACHAT_API_B2B"
DIFY_INDEXING_WORKERS = 10  # langgenius/dify api/core/indexing_runner.py `_load`: max_workers = 10
_TOPICS = (
    "Как настроить базу знаний в Dify и выбрать модель эмбеддингов для русского текста.",
    "GigaChat embeddings turn each chunk of a document into a vector for semantic search.",
    "Договор поставки: сроки, порядок приёмки товара и ответственность сторон за просрочку.",
    "The plugin batches requests, runs them concurrently and keeps the results in input order.",
)


@dataclass(frozen=True)
class Run:
    """One way of embedding the corpus, measured."""

    label: str
    wall_seconds: float
    http_requests: int
    oauth_calls: int
    max_inputs_per_request: int
    # CPU seconds of this process (the emulator, the harness or the SDK loop) and of the plugin's process.
    rig_cpu_seconds: float
    plugin_cpu_seconds: float


@dataclass(frozen=True)
class BenchResult:
    chunks: int
    model: str
    latency: float
    scope: str
    parallelism: int | None  # None: the plugin's default for the scope
    dify_workers: int
    calls: int  # plugin invocations, as Dify makes them
    batch_sizes: tuple[int, ...]  # the texts of every HTTP request the plugin sent, in order
    plugin: Run
    sequential: Run

    @property
    def speedup(self) -> float:
        return self.sequential.wall_seconds / self.plugin.wall_seconds


def corpus(chunks: int) -> list[str]:
    """Knowledge-base chunks of a few hundred characters, Russian and English, each one distinct."""
    return [
        f"Фрагмент {i} / chunk {i}. " + " ".join(_TOPICS[(i + k) % len(_TOPICS)] for k in range(6))
        for i in range(chunks)
    ]


def bench_embeddings(
    rig: Rig,
    chunks: int = 1000,
    latency: float = 0.05,
    model: str = "Embeddings",
    parallelism: int | None = None,
    dify_workers: int = 1,
    repeat: int = 1,
    scope: str = BUSINESS,
) -> BenchResult:
    """Index `chunks` texts through the plugin, then send the same requests sequentially through the SDK.

    With `repeat` > 1 both are measured that many times and the median wall times are reported.
    """
    runs = max(repeat, 1)
    results = [_measure(rig, chunks, latency, model, scope, parallelism, dify_workers) for _ in range(runs)]
    return _median(results)


def _median(results: list[BenchResult]) -> BenchResult:
    plugin = sorted(results, key=lambda r: r.plugin.wall_seconds)[len(results) // 2]
    sequential = sorted(results, key=lambda r: r.sequential.wall_seconds)[len(results) // 2].sequential
    return replace(plugin, sequential=sequential)


def _measure(
    rig: Rig, chunks: int, latency: float, model: str, scope: str, parallelism: int | None, dify_workers: int
) -> BenchResult:
    texts = corpus(chunks)
    calls = _dify_calls(texts, max_chunks(model), dify_workers)
    emu = rig.emulator
    _, credentials = rig.account(scope, **({} if parallelism is None else {"embedding_parallelism": str(parallelism)}))
    emu.reset()
    emu.latency, emu.max_in_flight = latency, STREAMS_PER_SCOPE[scope]
    try:
        started = _Clock.now(rig.plugin)
        for wave in calls:
            _invoke(rig.plugin, model, credentials, wave)
        plugin = _run("plugin", started, emu, rig.plugin)
        if emu.refused_over_limit:
            raise RuntimeError(
                f"GigaChat would have refused {emu.refused_over_limit} request(s) for exceeding {scope}'s "
                f"{emu.max_in_flight} stream(s): lower the parallelism"
            )
        batches = tuple(len(body["input"]) for body in emu.embedding_requests)
        sequential = sequential_sdk(emu, texts, model, scope, batches)
    finally:
        emu.max_in_flight = None
    made = sum(len(wave) for wave in calls)
    return BenchResult(chunks, model, latency, scope, parallelism, dify_workers, made, batches, plugin, sequential)


def sequential_sdk(
    emu: GigaChatEmulator, texts: Sequence[str], model: str, scope: str, batch_sizes: Sequence[int]
) -> Run:
    """The baseline: one SDK client, one request after another, with the given batch sizes."""
    client = make_client(emu, credentials=fresh_key(emu, scope), scope=scope, model=None, timeout=60.0)
    emu.reset()
    started = _Clock.now(None)
    offset = 0
    with client:
        for size in batch_sizes:
            client.embeddings(list(texts[offset : offset + size]), model=model)
            offset += size
    return _run("sequential SDK loop", started, emu)


def _dify_calls(texts: list[str], chunk_limit: int, workers: int) -> list[list[list[str]]]:
    """Waves of concurrent plugin calls: each worker takes its share of the texts in calls of `chunk_limit`."""
    shares = [texts[w::workers] for w in range(workers)]
    per_worker = [[share[i : i + chunk_limit] for i in range(0, len(share), chunk_limit)] for share in shares]
    waves = max(len(c) for c in per_worker)
    return [[c[i] for c in per_worker if i < len(c)] for i in range(waves)]


def _invoke(plugin: PluginProcess, model: str, credentials: dict, wave: list[list[str]]) -> None:
    requests = [embedding_request(credentials, texts, model) for texts in wave]
    for texts, reply in zip(wave, plugin.request_many(requests, timeout=300), strict=True):
        if reply.error is not None or reply.violations:
            raise RuntimeError(f"the plugin failed: {reply.error or reply.violations}")
        if len(reply.chunks[0]["embeddings"]) != len(texts):
            raise RuntimeError("the plugin returned the wrong number of vectors")


@dataclass(frozen=True)
class _Clock:
    wall: float
    rig_cpu: float
    plugin_cpu: float

    @classmethod
    def now(cls, plugin: PluginProcess | None) -> _Clock:
        return cls(time.perf_counter(), cpu_seconds(), cpu_seconds(plugin.pid) if plugin else 0.0)


def _run(label: str, started: _Clock, emu: GigaChatEmulator, plugin: PluginProcess | None = None) -> Run:
    end = _Clock.now(plugin)
    sizes = [len(body["input"]) for body in emu.embedding_requests]
    return Run(
        label,
        end.wall - started.wall,
        len(emu.embedding_requests),
        emu.oauth_calls,
        max(sizes, default=0),
        end.rig_cpu - started.rig_cpu,
        end.plugin_cpu - started.plugin_cpu,
    )


HEADER = (
    "Latency",
    "Dify workers",
    "Scope: parallelism",
    "Wall time",
    "HTTP requests",
    "OAuth",
    "CPU: bench process / plugin",
    "Sequential SDK loop",
    "Speed-up",
)


def _cells(r: BenchResult) -> tuple[str, ...]:
    default = default_embedding_parallelism(r.scope)
    parallelism = f"default ({default})" if r.parallelism is None else str(r.parallelism)
    p, s = r.plugin, r.sequential
    return (
        f"{r.latency * 1000:g} ms",
        f"{r.dify_workers} ({r.calls} calls)",
        f"{r.scope.removeprefix('GIGACHAT_API_')}: {parallelism}",
        f"{p.wall_seconds:.2f} s",
        f"{p.http_requests} (≤ {p.max_inputs_per_request} texts)",
        str(p.oauth_calls),
        f"{p.rig_cpu_seconds:.2f} s / {p.plugin_cpu_seconds:.2f} s",
        f"{s.wall_seconds:.2f} s",
        f"{r.speedup:.1f}x",
    )


def markdown(results: Sequence[BenchResult]) -> str:
    return table.markdown(HEADER, map(_cells, results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.bench.embeddings", description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the emulator waits before answering")
    parser.add_argument("--model", default="Embeddings")
    parser.add_argument("--sweep", default="1,2,4,10", help="B2B parallelism values to compare (empty: none)")
    parser.add_argument("--slow-latency", type=float, default=0.25, help="a second, latency-bound run (0: none)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; the median is reported")
    args = parser.parse_args(argv)
    sweep = [int(value) for value in args.sweep.split(",") if value]
    isolate_environment()
    with running_rig() as rig:
        rig.warm_up()

        def bench(latency: float, parallelism: int | None, workers: int = 1, scope: str = BUSINESS) -> BenchResult:
            return bench_embeddings(rig, args.chunks, latency, args.model, parallelism, workers, args.repeat, scope)

        results = [bench(args.latency, None), bench(args.latency, None, DIFY_INDEXING_WORKERS)]
        results += [bench(args.latency, None, scope="GIGACHAT_API_PERS")]
        results += [bench(args.latency, p) for p in sweep]
        if args.slow_latency:
            results += [bench(args.slow_latency, None), bench(args.slow_latency, None, DIFY_INDEXING_WORKERS)]
            results += [bench(args.slow_latency, None, scope="GIGACHAT_API_PERS")]
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
