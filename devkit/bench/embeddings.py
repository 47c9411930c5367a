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
import os
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from gigachat import GigaChat

from devkit import ROOT
from devkit.emulator import GigaChatEmulator
from devkit.harness import PluginProcess
from devkit.harness import messages as m
from devkit.package import build
from models.common.settings import STREAMS_PER_SCOPE, default_embedding_parallelism

PROVIDER = "gigachat"
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


def max_chunks(model: str) -> int:
    """What Dify reads from the model's YAML to size its calls."""
    entity = yaml.safe_load((ROOT / "models" / "text_embedding" / f"{model}.yaml").read_text(encoding="utf-8"))
    return int(entity["model_properties"]["max_chunks"])


@dataclass
class Rig:
    """The emulator and one running plugin process, shared by several benchmark runs."""

    emulator: GigaChatEmulator
    plugin: PluginProcess

    def credentials(self, key: str, scope: str, parallelism: int | None) -> dict[str, str]:
        values = {
            "auth_method": "authorization_key",
            "api_key": key,
            "scope": scope,
            "base_url": self.emulator.base_url,
            "auth_url": self.emulator.auth_url,
            "request_timeout": "60",
        }
        if parallelism is not None:
            values["embedding_parallelism"] = str(parallelism)
        return values

    def fresh_key(self, scope: str) -> str:
        """A key no cached client has used, so the run's OAuth calls are its own."""
        return self.emulator.add_account(str(uuid.uuid4()), str(uuid.uuid4()), scope)


@contextmanager
def rig(latency: float, plugin_dir: Path | None = None, python: str = sys.executable) -> Iterator[Rig]:
    with tempfile.TemporaryDirectory(prefix="gigachat-bench-") as folder:
        if plugin_dir is None:
            built = build(ROOT, Path(folder) / "dist")
            plugin_dir = Path(folder) / "plugin"
            with zipfile.ZipFile(built.path) as archive:
                archive.extractall(plugin_dir)
        with GigaChatEmulator(latency=latency) as emu, PluginProcess(plugin_dir, python=python) as plugin:
            plugin.wait_ready(120)
            setup = Rig(emu, plugin)
            # Warm the plugin's code paths (imports, schemas, a full-size reply) with a key no measured run uses.
            warm_up = corpus(max_chunks("Embeddings"))
            _invoke(setup, "Embeddings", setup.credentials(setup.fresh_key(BUSINESS), BUSINESS, None), [warm_up])
            yield setup


def bench_embeddings(
    chunks: int = 1000,
    latency: float = 0.05,
    model: str = "Embeddings",
    parallelism: int | None = None,
    dify_workers: int = 1,
    setup: Rig | None = None,
    repeat: int = 1,
    scope: str = BUSINESS,
) -> BenchResult:
    """Index `chunks` texts through the plugin, then send the same requests sequentially through the SDK.

    With `repeat` > 1 both are measured that many times and the median wall times are reported.
    """
    if setup is None:
        with rig(latency) as own:
            return bench_embeddings(chunks, latency, model, parallelism, dify_workers, own, repeat, scope)
    runs = max(repeat, 1)
    results = [_measure(chunks, latency, model, scope, parallelism, dify_workers, setup) for _ in range(runs)]
    return _median(results)


def _median(results: list[BenchResult]) -> BenchResult:
    plugin = sorted(results, key=lambda r: r.plugin.wall_seconds)[len(results) // 2]
    sequential = sorted(results, key=lambda r: r.sequential.wall_seconds)[len(results) // 2].sequential
    return replace(plugin, sequential=sequential)


def _measure(
    chunks: int, latency: float, model: str, scope: str, parallelism: int | None, dify_workers: int, setup: Rig
) -> BenchResult:
    texts = corpus(chunks)
    calls = _dify_calls(texts, max_chunks(model), dify_workers)
    emu = setup.emulator
    credentials = setup.credentials(setup.fresh_key(scope), scope, parallelism)
    emu.reset()
    emu.latency, emu.max_in_flight = latency, STREAMS_PER_SCOPE[scope]
    try:
        started = _Clock.now(setup.plugin)
        for wave in calls:
            _invoke(setup, model, credentials, wave)
        plugin = _run("plugin", started, emu, setup.plugin)
        if emu.refused_over_limit:
            raise RuntimeError(
                f"GigaChat would have refused {emu.refused_over_limit} request(s) for exceeding {scope}'s "
                f"{emu.max_in_flight} stream(s): lower the parallelism"
            )
        batches = tuple(len(body["input"]) for body in emu.embedding_requests)
        sequential = sequential_sdk(emu, texts, model, scope, batches)
    finally:
        emu.max_in_flight = None
    return BenchResult(
        chunks=chunks,
        model=model,
        latency=latency,
        scope=scope,
        parallelism=parallelism,
        dify_workers=dify_workers,
        calls=sum(len(wave) for wave in calls),
        batch_sizes=batches,
        plugin=plugin,
        sequential=sequential,
    )


def sequential_sdk(
    emu: GigaChatEmulator, texts: Sequence[str], model: str, scope: str, batch_sizes: Sequence[int]
) -> Run:
    """The baseline: one SDK client, one request after another, with the given batch sizes."""
    client = GigaChat(
        base_url=emu.base_url,
        auth_url=emu.auth_url,
        credentials=emu.add_account(str(uuid.uuid4()), str(uuid.uuid4()), scope),
        scope=scope,
        timeout=60,
    )
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


def _invoke(setup: Rig, model: str, credentials: dict, wave: list[list[str]]) -> None:
    requests = [m.invoke_embedding(PROVIDER, model, credentials, texts) for texts in wave]
    for texts, reply in zip(wave, setup.plugin.request_many(requests, timeout=300), strict=True):
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
        return cls(time.perf_counter(), time.process_time(), _process_cpu(plugin.pid) if plugin else 0.0)


def _process_cpu(pid: int) -> float:
    """User and system CPU seconds of another process, from /proc (0 where there is no /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def markdown(results: Sequence[BenchResult]) -> str:
    head = (
        "| Latency | Dify workers | Scope: parallelism | Wall time | HTTP requests | OAuth "
        "| CPU: bench process / plugin | Sequential SDK loop | Speed-up |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    rows = []
    for r in results:
        scope = r.scope.removeprefix("GIGACHAT_API_")
        default = default_embedding_parallelism(r.scope)
        parallelism = f"default ({default})" if r.parallelism is None else str(r.parallelism)
        p, s = r.plugin, r.sequential
        rows.append(
            f"| {r.latency * 1000:g} ms | {r.dify_workers} ({r.calls} calls) | {scope}: {parallelism} "
            f"| {p.wall_seconds:.2f} s | {p.http_requests} (≤ {p.max_inputs_per_request} texts) | {p.oauth_calls} "
            f"| {p.rig_cpu_seconds:.2f} s / {p.plugin_cpu_seconds:.2f} s | {s.wall_seconds:.2f} s "
            f"| {r.speedup:.1f}x |"
        )
    return "\n".join([head, *rows])


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
    with rig(args.latency) as setup:

        def bench(latency: float, parallelism: int | None, workers: int = 1, scope: str = BUSINESS) -> BenchResult:
            return bench_embeddings(args.chunks, latency, args.model, parallelism, workers, setup, args.repeat, scope)

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
