"""Figure 7 of `make bench`: streaming sessions per second with 64 in flight (`concurrency`), through the plugin and
through the SDK with as many threads sharing one client.

The emulator runs in its own process here. In the bench process it would share one GIL with the 64 SDK threads but
not with the plugin (a process of its own), which would handicap the baseline; this way the client side of each
path has a process to itself and the emulator costs both the same.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import NamedTuple

from gigachat import GigaChat

from devkit import ROOT
from devkit.bench.calls import sdk_chat
from devkit.bench.stats import Row, Stat, differences, ms
from devkit.emulator.client import make_client
from devkit.rig import Rig, chat_request, checked, cpu_seconds, credentials_for


class EmulatorProcess(NamedTuple):
    """The connection details `python -m devkit.emulator` prints: all that clients and credentials need of it."""

    base_url: str
    auth_url: str
    key: str

    def credentials(self) -> str:
        return self.key


@contextmanager
def emulator_process() -> Iterator[EmulatorProcess]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit.emulator", "--port", "0"],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        settings: dict[str, str] = {}
        assert proc.stderr is not None
        while "access_token" not in settings:  # the last of the key=value lines it prints when ready
            line = proc.stderr.readline()
            if not line:
                raise RuntimeError(f"the emulator process exited with {proc.wait()}")
            name, _, value = line.strip().partition("=")
            settings[name] = value
        yield EmulatorProcess(settings["base_url"], settings["auth_url"], settings["credentials"])
    finally:
        proc.terminate()
        proc.wait(10)


def _plugin_round(rig: Rig, creds: dict, concurrency: int) -> None:
    requests = [chat_request(creds, f"session {i} of a busy app", stream=True) for i in range(concurrency)]
    for reply in rig.plugin.request_many(requests, timeout=120):
        checked(reply)
        if reply.finish_reason != "stop":
            raise RuntimeError("a streaming session ended without its final chunk")


def _sdk_session(client: GigaChat, i: int) -> None:
    chunks = list(client.stream(sdk_chat(f"session {i} of a busy app")))
    if chunks[-1].choices[0].finish_reason != "stop":
        raise RuntimeError("a streaming session ended without its final chunk")


def throughput(rig: Rig, runs: int, rounds: int, concurrency: int = 64) -> list[Row]:
    """`rounds` waves of 64 concurrent sessions per run; sessions/s = sessions / wall time of the waves."""
    plugin_rates, sdk_rates, plugin_cpu, sdk_cpu = [], [], [], []
    sessions = rounds * concurrency
    with emulator_process() as emu, make_client(emu, timeout=60.0) as client, ThreadPoolExecutor(concurrency) as pool:
        creds = credentials_for(emu)
        _plugin_round(rig, creds, concurrency)  # warm: token, 64 pooled connections
        list(pool.map(lambda i: _sdk_session(client, i), range(concurrency)))
        for _ in range(runs):
            cpu, started = cpu_seconds(rig.plugin.pid), time.perf_counter()
            for _ in range(rounds):
                _plugin_round(rig, creds, concurrency)
            plugin_rates.append(sessions / (time.perf_counter() - started))
            plugin_cpu.append((cpu_seconds(rig.plugin.pid) - cpu) / sessions)
            # This process holds only the SDK threads now (the emulator has its own), so its CPU time is theirs.
            cpu, started = cpu_seconds(), time.perf_counter()
            for _ in range(rounds):
                list(pool.map(lambda i: _sdk_session(client, i), range(concurrency)))
            sdk_rates.append(sessions / (time.perf_counter() - started))
            sdk_cpu.append((cpu_seconds() - cpu) / sessions)
    ratio = Stat.of([p / s for p, s in zip(plugin_rates, sdk_rates, strict=True)])
    return [
        Row(
            "7",
            f"Throughput: streaming sessions/s, {concurrency} concurrent, instant emulator ({sessions} per run)",
            Stat.of(plugin_rates).fmt("/s", digits=0),
            f"{Stat.of(sdk_rates).fmt('/s', digits=0)} (SDK, {concurrency} threads, one client)",
            f"{ratio.fmt('×')} of baseline",
        ),
        Row(
            "7",
            "… CPU time per streaming session (plugin process; SDK threads)",
            ms(Stat.of(plugin_cpu)),
            ms(Stat.of(sdk_cpu)),
            ms(differences(plugin_cpu, sdk_cpu)),
        ),
    ]
