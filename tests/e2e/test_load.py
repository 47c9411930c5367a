"""The fast part of `make load` (devkit/load.py), through the packaged plugin: many concurrent streams on one stdin
each get their own complete answer, and a mini soak of mixed requests leaks neither descriptors nor connections.
No timing is asserted; the long runs and their figures are `make load`'s."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devkit import load
from devkit.emulator import GigaChatEmulator

pytestmark = pytest.mark.e2e
SESSIONS = 64
ROUNDS = 2
SOAK_REQUESTS = 200
# Sockets the plugin may hold at rest: httpx keeps up to 20 idle connections per client, plus OAuth's.
POOL_SLACK = 24


@pytest.fixture
def slow_network(emu: GigaChatEmulator) -> Iterator[GigaChatEmulator]:
    emu.latency, emu.chunk_delay = load.LATENCY, load.CHUNK_DELAY
    try:
        yield emu
    finally:
        emu.latency = emu.chunk_delay = 0.0


def test_64_concurrent_streaming_sessions_each_get_their_own_complete_answer_round_after_round(
    plugin, slow_network, creds
):
    run = load.load(plugin, creds, SESSIONS, ROUNDS)
    assert run.failures == []
    assert run.requests == SESSIONS * ROUNDS
    assert plugin.violations == []  # no interleaved or corrupt stdout line in any round
    assert run.end.sockets <= run.start.sockets + POOL_SLACK


def test_a_mini_soak_of_mixed_and_faulty_requests_leaks_no_descriptors_or_connections(plugin, slow_network, creds):
    run = load.soak(plugin, slow_network, creds, SOAK_REQUESTS)
    assert run.failures == []
    assert run.requests == SOAK_REQUESTS
    assert run.end.fds <= run.start.fds + POOL_SLACK
    assert run.end.sockets <= run.start.sockets + POOL_SLACK
    # Flat within the allocator's noise; this catches a gross leak (an answer or a client kept per request), and
    # `make load` measures the real drift over 2,000 requests.
    assert run.end.rss_bytes - run.start.rss_bytes < 16 * 2**20
