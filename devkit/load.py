"""`make load`: the long load and soak runs, with the figures docs/reliability.md shows.

    .venv/bin/python -m devkit.load [--sessions 64] [--rounds 20] [--requests 2000] [--quick]

Packages the plugin, installs it as Dify's daemon does and runs it over stdio (devkit/harness) against the GigaChat
emulator (devkit/emulator) with network latency and a delay between streamed chunks. Two runs:

- load: rounds of N concurrent streaming sessions on one stdin (`request_many`); each session must get exactly its
  own echo, complete, and every stdout line must be one valid message (the harness checks each as it is read, so an
  interleaved or corrupt line fails the run);
- soak: a stream of mixed requests (streamed and blocking chat, token counting, embeddings, credential validation)
  sent in concurrent batches, with one faulty request after each batch (a stream cut mid-way, a malformed event, a
  503 and a 429 that the plugin retries): every answer is checked, and the plugin's resident memory, open file
  descriptors and sockets are read at the start (after a warm-up) and at the end.

Prints the figures as a Markdown table and exits 1 if any request failed. tests/e2e/test_load.py runs the same
code in small sizes as part of `make test`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from devkit import table
from devkit.emulator import Fault, GigaChatEmulator
from devkit.harness import PluginProcess, Reply
from devkit.harness import messages as m
from devkit.rig import (
    MODEL,
    PROVIDER,
    ProcessStats,
    credentials_for,
    embedding_request,
    isolate_environment,
    running_rig,
)

LATENCY = 0.05  # seconds before the emulator answers
CHUNK_DELAY = 0.01  # seconds between streamed events
SOAK_BATCH = 16  # soak requests in flight at once
CAPPED_POOL = 64  # dify_plugin's MAX_WORKER for the second soak


@dataclass
class Outcome:
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    start: ProcessStats | None = None
    end: ProcessStats | None = None


# ---- load: concurrent streaming sessions -------------------------------------------------------------------------


def session_prompt(round_no: int, index: int) -> str:
    """A prompt only this session sends: any mix-up between sessions shows in the echoed text."""
    return f"session {round_no}.{index}: " + " ".join(f"w{round_no}x{index}y{k}" for k in range(24))


def concurrent_streams(plugin: PluginProcess, creds: dict, sessions: int, round_no: int) -> list[str]:
    """One round of `sessions` streamed chats at once; the failures, described."""
    prompts = [session_prompt(round_no, i) for i in range(sessions)]
    requests = [m.invoke_llm(PROVIDER, MODEL, creds, [m.user(p)], {}, stream=True) for p in prompts]
    try:
        replies = plugin.request_many(requests, timeout=120)
    except Exception as error:  # a rule violation or a lost session fails the whole round
        return [f"round {round_no}: {type(error).__name__}: {str(error)[:300]}"]
    failures = []
    for index, (prompt, reply) in enumerate(zip(prompts, replies, strict=True)):
        if reply.error is not None:
            failures.append(f"round {round_no} session {index}: {reply.error.get('error_type')}")
        elif reply.text != f"Echo: {prompt}" or reply.finish_reason != "stop":
            failures.append(f"round {round_no} session {index}: wrong or incomplete text {reply.text[:60]!r}")
    return failures


def load(plugin: PluginProcess, creds: dict, sessions: int, rounds: int) -> Outcome:
    """`rounds` rounds of `sessions` streams, measured from the end of the first (which fills the connection pool)."""
    outcome = Outcome()
    for round_no in range(rounds):
        outcome.failures += concurrent_streams(plugin, creds, sessions, round_no)
        outcome.requests += sessions
        if round_no == 0:
            outcome.start = ProcessStats.of(plugin.pid)
    outcome.end = ProcessStats.of(plugin.pid)
    return outcome


# ---- soak: mixed requests, with faults in between ----------------------------------------------------------------

Check = Callable[[Reply], bool]


def _chat(stream: bool) -> Callable[[dict, int], tuple[dict, Check]]:
    def make(creds: dict, n: int) -> tuple[dict, Check]:
        text = f"soak {n} {'stream' if stream else 'blocking'}"
        data = m.invoke_llm(PROVIDER, MODEL, creds, [m.user(text)], {}, stream=stream)
        return data, lambda reply: reply.text == f"Echo: {text}"

    return make


def _tokens(creds: dict, n: int) -> tuple[dict, Check]:
    data = m.llm_num_tokens(PROVIDER, MODEL, creds, [m.system("Be brief."), m.user(f"count the tokens of {n}")])
    return data, lambda reply: reply.chunks[0]["num_tokens"] > 0


def _embed(creds: dict, n: int) -> tuple[dict, Check]:
    data = embedding_request(creds, [f"first text {n}", f"second text {n}"])
    return data, lambda reply: len(reply.chunks[0]["embeddings"]) == 2


def _validate(creds: dict, n: int) -> tuple[dict, Check]:
    data = m.validate_provider_credentials(PROVIDER, creds)
    return data, lambda reply: reply.chunks[0]["result"] is True


MIX = [_chat(True), _chat(False), _tokens, _embed, _validate]
# (fault on the next chat request, the error type the streamed request must end with, or None for a recovered answer)
FAULTS: list[tuple[Fault, str | None]] = [
    (Fault.cut_stream(after_chunks=2), "InvokeConnectionError"),
    (Fault.malformed_event(after_chunks=1), "InvokeServerUnavailableError"),
    (Fault.status(503, headers={"Retry-After": "0.01"}), None),
    (Fault.rate_limit(0.01), None),
]


def _faulty_request(plugin: PluginProcess, emu: GigaChatEmulator, creds: dict, n: int) -> str | None:
    fault, expected = FAULTS[n % len(FAULTS)]
    emu.inject(fault)
    text = f"fault {n}"
    try:
        reply = plugin.request(m.invoke_llm(PROVIDER, MODEL, creds, [m.user(text)], {}, stream=True), timeout=60)
    except Exception as error:
        return f"fault request {n}: {type(error).__name__}: {str(error)[:300]}"
    got = reply.error["error_type"] if reply.error else None
    if got != expected or (expected is None and reply.text != f"Echo: {text}"):
        return f"fault request {n} ({fault.kind}): expected {expected}, got {got}"
    return None


def _batch(plugin: PluginProcess, creds: dict, first: int, size: int) -> list[str]:
    made = [MIX[n % len(MIX)](creds, n) for n in range(first, first + size)]
    try:
        replies = plugin.request_many([data for data, _ in made], timeout=120)
    except Exception as error:
        return [f"batch at {first}: {type(error).__name__}: {str(error)[:300]}"]
    failures = []
    for n, ((data, check), reply) in enumerate(zip(made, replies, strict=True), start=first):
        try:
            ok = reply.error is None and check(reply)
        except (LookupError, TypeError):
            ok = False
        if not ok:
            problem = reply.error.get("error_type") if reply.error else "a wrong answer"
            failures.append(f"request {n} ({data['action']}): {problem}")
    return failures


def mixed(
    plugin: PluginProcess,
    emu: GigaChatEmulator,
    creds: dict,
    requests: int,
    first: int = 0,
    batch: int = SOAK_BATCH,
    progress: Callable[[int], None] | None = None,
) -> list[str]:
    """`requests` requests: concurrent batches of the mix, each followed by one faulty request; the failures."""
    failures: list[str] = []
    done = 0
    while done < requests:
        size = min(batch, requests - done - 1) or 1
        failures += _batch(plugin, creds, first + done, size)
        done += size
        if done < requests:
            if failure := _faulty_request(plugin, emu, creds, first + done):
                failures.append(failure)
            done += 1
        if progress is not None:
            progress(done)
    return failures


def soak(
    plugin: PluginProcess,
    emu: GigaChatEmulator,
    creds: dict,
    requests: int,
    warm_up: int = 2 * (SOAK_BATCH + 1),
    progress: Callable[[int], None] | None = None,
) -> Outcome:
    """`requests` mixed requests (faulty ones included), measured after `warm_up` of the same."""
    outcome = Outcome(failures=[f"warm-up: {f}" for f in mixed(plugin, emu, creds, warm_up, first=-warm_up)])
    outcome.start = ProcessStats.of(plugin.pid)
    outcome.failures += mixed(plugin, emu, creds, requests, progress=progress)
    outcome.requests = requests
    outcome.end = ProcessStats.of(plugin.pid)
    return outcome


# ---- the run -------------------------------------------------------------------------------------------------------


HEADER = ("Run", "Size", "Failures", "Resident memory, after warm-up → end", "File descriptors", "Sockets")


def row(name: str, size: str, run: Outcome) -> tuple[str, ...]:
    """One line of the reliability table (docs/reliability.md)."""
    assert run.start and run.end
    memory = f"{run.start.rss_bytes / 2**20:.1f} → {run.end.rss_bytes / 2**20:.1f} MiB"
    fds, sockets = f"{run.start.fds} → {run.end.fds}", f"{run.start.sockets} → {run.end.sockets}"
    return name, size, str(len(run.failures)), memory, fds, sockets


def run_soak(plugin: PluginProcess, emu: GigaChatEmulator, requests: int) -> tuple[Outcome, list[str]]:
    print(f"soak: {requests // 2} requests to warm up, then {requests} measured ...", file=sys.stderr)
    shown = [0]

    def progress(done: int) -> None:
        if done - shown[0] >= requests // 10 or done == requests:
            shown[0] = done
            print(f"  {done} requests, {ProcessStats.of(plugin.pid)}", file=sys.stderr)

    outcome = soak(plugin, emu, credentials_for(emu), requests, warm_up=requests // 2, progress=progress)
    return outcome, list(plugin.violations)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.load", description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=64, help="concurrent streaming sessions per round")
    parser.add_argument("--rounds", type=int, default=20, help="rounds of concurrent sessions")
    parser.add_argument(
        "--requests", type=int, default=2000, help="soak requests (at least 1,000 for docs/reliability.md)"
    )
    parser.add_argument("--quick", action="store_true", help="2 rounds and 200 requests: checks that the run works")
    args = parser.parse_args(argv)
    rounds, requests = (2, 200) if args.quick else (args.rounds, args.requests)

    started = time.perf_counter()
    isolate_environment()
    with running_rig(latency=LATENCY, chunk_delay=CHUNK_DELAY) as rig:
        print(f"load: {args.sessions} sessions x {rounds} rounds ...", file=sys.stderr)
        load_run = load(rig.plugin, credentials_for(rig.emulator), args.sessions, rounds)
        soak_run, violations = run_soak(rig.plugin, rig.emulator, requests)
        # dify_plugin's worker pool (a ThreadPoolExecutor of MAX_WORKER=1000 greenlets) keeps adding workers under
        # bursts, about 10 KiB each, until it reaches its cap; a second process with the pool capped low shows the
        # plugin's own drift apart from that.
        env = {**os.environ, "MAX_WORKER": str(CAPPED_POOL)}
        with PluginProcess(rig.plugin_dir, python=sys.executable, env=env) as capped:
            capped.wait_ready(120)
            capped_run, capped_violations = run_soak(capped, rig.emulator, requests)
    size = f"{requests} requests after {requests // 2} to warm up, {SOAK_BATCH} at a time"
    streams = f"{args.sessions} × {rounds} rounds = {load_run.requests} streams"
    rows = [
        row("Load: concurrent streaming sessions", streams, load_run),
        row("Soak: mixed requests with faults", size, soak_run),
        row(f"Soak, dify_plugin's worker pool capped at {CAPPED_POOL}", size, capped_run),
    ]
    print(table.markdown(HEADER, rows))
    print(f"\nlatency {LATENCY} s, chunk delay {CHUNK_DELAY} s; took {time.perf_counter() - started:.0f} s")
    failures = load_run.failures + soak_run.failures + capped_run.failures + violations + capped_violations
    for failure in failures[:20]:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
