"""Figures 1-5 of `make bench`: authentication, blocking latency (on both chat protocols), streaming pass-through,
token counting and embeddings, each measured through the packaged plugin and, in the same run, through the SDK
directly."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from gigachat import GigaChat
from gigachat.models.chat import Chat, Messages

from devkit.bench import embeddings as bench_embeddings
from devkit.bench.stats import Row, Stat, differences, ms, per_run_median
from devkit.emulator import Reply
from devkit.emulator.client import make_client
from devkit.harness import messages as m
from devkit.rig import (
    EMBEDDING_MODEL,
    MODEL,
    PROVIDER,
    V2_MODEL,
    Rig,
    chat_request,
    checked,
    embedding_request,
    fresh_key,
    num_tokens_request,
)

ADDED_LATENCY_TARGET = 0.002
# Figure 2's v2 row: the v2 path may add no more than the v1 path. A difference of medians this small is well inside
# the run-to-run range the row itself prints (several times wider), so it is no verdict either way; the target says so.
V2_RESOLUTION = 0.00005
STREAM_ADDED_TARGET = 0.005
TOKEN_COUNT_TARGET = 0.001
# 20 distinct pieces: each SSE event can be matched to the Dify chunk that carries it.
PIECES = [f"piece{i:02d} " for i in range(20)]
STREAM_CHUNK_DELAY = 0.01  # a fast model: one event every 10 ms, so events are measured one by one, not as a burst
TOKEN_TEXT = ("Сколько токенов в этом тексте? How many tokens are in this text? 2024-06-01.\n" * 200)[:10_000]


def sdk_chat(text: str) -> Chat:
    return Chat(model=MODEL, messages=[Messages(role="user", content=text)])


def sdk_chat_v2(text: str) -> dict:
    """The same one-message chat as the v2 body `client.chat.create` takes."""
    return {"model": V2_MODEL, "messages": [{"role": "user", "content": [{"text": text}]}]}


def sdk_client(rig: Rig, key: str) -> GigaChat:
    """The baseline: one cached SDK client with every setting explicit, as the plugin builds its own."""
    return make_client(rig.emulator, credentials=key, timeout=60.0)


# ---- 1. authentication ----------------------------------------------------------------------------------------


def _mixed_request(creds: dict, i: int) -> dict:
    kind = i % 5
    if kind == 0:
        return chat_request(creds, f"question {i}", stream=False)
    if kind == 1:
        return chat_request(creds, f"question {i}", stream=True)
    if kind == 2:
        return num_tokens_request(creds, f"question {i}")
    if kind == 3:
        return embedding_request(creds, [f"chunk {i}"])
    return m.validate_provider_credentials(PROVIDER, creds)


def _mixed_sdk(client: GigaChat, i: int) -> None:
    kind = i % 5
    if kind == 0:
        client.chat(sdk_chat(f"question {i}"))
    elif kind == 1:
        list(client.stream(sdk_chat(f"question {i}")))
    elif kind == 3:
        client.embeddings([f"chunk {i}"], model=EMBEDDING_MODEL)
    elif kind == 4:
        client.get_models()
    # kind 2, token counting: the best possible count needs no request at all


def authentication(rig: Rig, runs: int, invocations: int, wave: int = 10) -> list[Row]:
    """OAuth requests for `invocations` mixed calls with one fresh credential set, sent `wave` at a time as Dify's
    workers would (the first wave races for the token)."""
    emu = rig.emulator
    plugin_counts, sdk_counts = [], []
    for _ in range(runs):
        _, creds = rig.account()
        requests = [_mixed_request(creds, i) for i in range(invocations)]
        before = emu.oauth_calls
        for start in range(0, invocations, wave):
            for reply in rig.plugin.request_many(requests[start : start + wave]):
                checked(reply)
        plugin_counts.append(emu.oauth_calls - before)
        before = emu.oauth_calls
        with sdk_client(rig, fresh_key(emu)) as client:
            for i in range(invocations):
                _mixed_sdk(client, i)
        sdk_counts.append(emu.oauth_calls - before)
        emu.reset()
    plugin, sdk = Stat.of(plugin_counts), Stat.of(sdk_counts)
    return [
        Row(
            "1",
            f"OAuth requests over {invocations} mixed invocations, one credential set (one token lifetime)",
            plugin.fmt(digits=0),
            f"{sdk.fmt(digits=0)} (SDK, one cached client)",
            differences(plugin_counts, sdk_counts).fmt(digits=0),
            "exactly 1",
            max(plugin.values) == 1 == min(plugin.values),
        )
    ]


# ---- 2. blocking latency ------------------------------------------------------------------------------------------


def blocking_latency(rig: Rig, runs: int, calls: int) -> list[Row]:
    """Per call, on each chat protocol: the plugin path (request line written -> `end` read) and the direct SDK call;
    and a no-network action through the same path (what the daemon framing and dify_plugin's dispatch cost without
    any plugin work). All five are interleaved, so drift in machine load hits them alike, and the two protocols take
    turns at going first: whichever pair runs second measured about 0.1 ms slower (the emulator shares the
    process and its GIL with the SDK baseline), which would otherwise be charged to one protocol."""
    emu, plugin = rig.emulator, rig.plugin
    names = ("v1", "sdk_v1", "v2", "sdk_v2", "frame")
    orders = (names, ("v2", "sdk_v2", "v1", "sdk_v1", "frame"))
    run_medians: dict[str, list[float]] = {name: [] for name in names}

    def timed_plugin(request: dict) -> float:
        started = time.perf_counter()
        return checked(plugin.request(request)).messages[-1].ts - started

    def timed(call) -> float:
        started = time.perf_counter()
        call()
        return time.perf_counter() - started

    with sdk_client(rig, rig.key) as client:
        client.chat(sdk_chat("warm up"))
        client.chat.create(sdk_chat_v2("warm up"))
        measures = {
            "v1": lambda: timed_plugin(chat_request(rig.creds, "ping", stream=False)),
            "sdk_v1": lambda: timed(lambda: client.chat(sdk_chat("ping"))),
            "v2": lambda: timed_plugin(chat_request(rig.creds, "ping", stream=False, model=V2_MODEL)),
            "sdk_v2": lambda: timed(lambda: client.chat.create(sdk_chat_v2("ping"))),
            "frame": lambda: timed_plugin(num_tokens_request(rig.creds, "ping")),
        }
        for _ in range(runs):
            samples: dict[str, list[float]] = {name: [] for name in names}
            for call in range(calls):
                for name in orders[call % 2]:
                    samples[name].append(measures[name]())
            for name in names:
                run_medians[name].append(per_run_median(samples[name]))
            emu.reset()
    r = run_medians
    added = {
        v: Stat.of([c - s - f for c, s, f in zip(r[v], r["sdk_" + v], r["frame"], strict=True)]) for v in ("v1", "v2")
    }
    v2_over_v1 = Stat.of([b - a for a, b in zip(added["v1"].values, added["v2"].values, strict=True)])

    def whole_call(measure: str, protocol: str) -> Row:
        plugin, sdk = r[protocol], r["sdk_" + protocol]
        return Row(
            "2", measure, ms(Stat.of(plugin)), f"{ms(Stat.of(sdk))} (direct SDK call)", ms(differences(plugin, sdk))
        )

    return [
        whole_call("Blocking chat, emulator answering instantly: request line → `end` (median call)", "v1"),
        Row(
            "2",
            "… of which daemon framing + dify_plugin dispatch (get_llm_num_tokens, no network)",
            ms(Stat.of(r["frame"])),
            "—",
        ),
        Row(
            "2",
            "… of which the plugin's own code (chat − SDK − framing)",
            ms(added["v1"]),
            "0",
            ms(added["v1"]),
            "< 2 ms median",
            added["v1"].median < ADDED_LATENCY_TARGET,
        ),
        whole_call(f"Blocking chat over v2 ({V2_MODEL}, `chat.create`): request line → `end` (median call)", "v2"),
        Row(
            "2",
            "… of which the plugin's own code on v2 (chat − SDK − framing), against v1's in the same run",
            ms(added["v2"]),
            f"{ms(added['v1'])} (v1)",
            ms(v2_over_v1),
            f"≤ v1's (+{V2_RESOLUTION * 1000:g} ms resolution)",
            v2_over_v1.median <= V2_RESOLUTION,
        ),
    ]


# ---- 3. streaming -------------------------------------------------------------------------------------------------


def _last_stream_sent(rig: Rig) -> list[float]:
    return next(r.sent for r in reversed(rig.emulator.requests) if r.sent)


def _delays(received: list[tuple[float, str]], sent: list[float]) -> list[float]:
    """Receive time minus send time for every piece, matched by content; the last item is the final event."""
    delays = [ts - sent[PIECES.index(text)] for ts, text in received[:-1] if text in PIECES]
    return [*delays, received[-1][0] - sent[len(PIECES)]]


def streaming(rig: Rig, runs: int, streams: int) -> list[Row]:
    emu, plugin = rig.emulator, rig.plugin
    emu.chunk_delay = STREAM_CHUNK_DELAY
    runs_out: dict[str, list[float]] = {"p_delay": [], "s_delay": [], "p_first": [], "s_first": []}
    try:
        with sdk_client(rig, rig.key) as client:
            list(client.stream(sdk_chat("warm up")))
            for _ in range(runs):
                p_delay, s_delay, p_first, s_first = [], [], [], []
                for _ in range(streams):
                    emu.script(Reply(text=PIECES))
                    started = time.perf_counter()
                    items = plugin.stream(chat_request(rig.creds, "stream", stream=True))
                    received = [(ts, chunk["delta"]["message"]["content"]) for ts, chunk in items]
                    p_first.append(received[0][0] - started)
                    p_delay += _delays(received, _last_stream_sent(rig))

                    emu.script(Reply(text=PIECES))
                    started = time.perf_counter()
                    received = [
                        (time.perf_counter(), chunk.choices[0].delta.content or "")
                        for chunk in client.stream(sdk_chat("stream"))
                    ]
                    s_first.append(received[0][0] - started)
                    s_delay += _delays(received, _last_stream_sent(rig))
                for name, samples in zip(runs_out, (p_delay, s_delay, p_first, s_first), strict=True):
                    runs_out[name].append(per_run_median(samples))
                emu.reset()
    finally:
        emu.chunk_delay = 0.0
    delay_added = differences(runs_out["p_delay"], runs_out["s_delay"])
    first_added = differences(runs_out["p_first"], runs_out["s_first"])
    return [
        Row(
            "3",
            f"Streaming: emulator writes an event → harness reads its chunk (median of {len(PIECES) + 1} × {streams}"
            " events)",
            ms(Stat.of(runs_out["p_delay"])),
            f"{ms(Stat.of(runs_out['s_delay']))} (SDK iterator yields it)",
            ms(delay_added),
            "< 5 ms median added",
            delay_added.median < STREAM_ADDED_TARGET,
        ),
        Row(
            "3",
            "Streaming: time to first chunk",
            ms(Stat.of(runs_out["p_first"])),
            f"{ms(Stat.of(runs_out['s_first']))} (direct SDK stream)",
            ms(first_added),
            "< 5 ms median added",
            first_added.median < STREAM_ADDED_TARGET,
        ),
    ]


# ---- 4. token counting ----------------------------------------------------------------------------------------


def in_process_token_count(plugin_dir: Path, runs: int, calls: int) -> dict[str, list[float]]:
    """Timed in a child process: importing the plugin imports dify_plugin, which gevent-patches its importer."""
    worker = [sys.executable, str(Path(__file__).with_name("inproc.py")), "--runs", str(runs), "--calls", str(calls)]
    out = subprocess.run(
        worker, input=TOKEN_TEXT, cwd=plugin_dir, capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout)


def token_counting(rig: Rig, runs: int, calls: int) -> list[Row]:
    emu, plugin = rig.emulator, rig.plugin
    inproc = in_process_token_count(rig.plugin_dir, runs, calls)
    network, path_runs, sdk_runs = [], [], []
    with sdk_client(rig, rig.key) as client:
        client.tokens_count([TOKEN_TEXT], model=MODEL)
        for _ in range(runs):
            emu.reset()
            path = []
            for _ in range(calls):
                started = time.perf_counter()
                reply = checked(plugin.request(num_tokens_request(rig.creds, TOKEN_TEXT)))
                path.append(reply.messages[-1].ts - started)
            network.append(len(emu.requests))
            sdk = []
            for _ in range(calls):
                started = time.perf_counter()
                client.tokens_count([TOKEN_TEXT], model=MODEL)
                sdk.append(time.perf_counter() - started)
            path_runs.append(per_run_median(path))
            sdk_runs.append(per_run_median(sdk))
    count = Stat.of(inproc["get_num_tokens"])
    return [
        Row(
            "4",
            "Token count, 10,000-character prompt, in process (the LLM's get_num_tokens)",
            ms(count, 3),
            f"{ms(Stat.of(sdk_runs))} (SDK tokens_count: 1 request)",
            "",
            "< 1 ms",
            count.median < TOKEN_COUNT_TARGET,
        ),
        Row(
            "4",
            f"… HTTP requests for {calls} counts through the daemon path; round trip per count",
            f"{Stat.of(network).fmt(digits=0)}; {ms(Stat.of(path_runs))}",
            f"{calls} (one per count)",
            "",
            "0 requests",
            max(network) == 0,
        ),
    ]


# ---- 5. embeddings --------------------------------------------------------------------------------------------


def embeddings(rig: Rig, runs: int, chunks: int, latency: float = 0.05) -> list[Row]:
    """devkit/bench/embeddings.py's measurement on this bench's plugin process: a business scope (ten GigaChat streams)
    at the default parallelism, indexed as Dify indexes a document (its IndexingRunner's ten workers), then by a single
    worker, whose calls cannot overlap (no target: the stricter case)."""
    rows = []
    try:
        for workers in (bench_embeddings.DIFY_INDEXING_WORKERS, 1):
            results = [
                bench_embeddings.bench_embeddings(rig, chunks, latency, dify_workers=workers) for _ in range(runs)
            ]
            rows.append(_embeddings_row(results, chunks, latency, with_target=workers > 1))
    finally:
        rig.emulator.latency = 0.0
        rig.emulator.reset()
    return rows


def _embeddings_row(results: list[bench_embeddings.BenchResult], chunks: int, latency: float, with_target: bool) -> Row:
    plugin = Stat.of([r.plugin.wall_seconds for r in results])
    sequential = Stat.of([r.sequential.wall_seconds for r in results])
    speedup = Stat.of([r.speedup for r in results])
    first = results[0]
    oauth = {r.plugin.oauth_calls for r in results}
    workers = f"Dify's {first.dify_workers} indexing workers" if first.dify_workers > 1 else "1 Dify indexing worker"
    return Row(
        "5",
        f"Embeddings: {chunks:,} chunks, {latency * 1000:g} ms emulator latency, B2B scope at the default "
        f"parallelism ({bench_embeddings.default_embedding_parallelism(first.scope)}), {workers}: wall time "
        f"({first.calls} Dify calls, {first.plugin.http_requests} HTTP requests, "
        f"{'/'.join(map(str, sorted(oauth)))} OAuth call(s), none over the stream limit)",
        plugin.fmt("s"),
        f"{sequential.fmt('s')} (sequential SDK loop, same batches)",
        f"{speedup.fmt('×', digits=1)} faster",
        "≥ 4× faster, 1 OAuth call" if with_target else "",
        (speedup.median >= 4 and oauth == {1}) if with_target else None,
    )
