"""The chat protocols the end-to-end chat and tool tests run on (the plugin, the emulator and the per-test fixtures
they share are in tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from devkit.emulator import GigaChatEmulator
from devkit.emulator.v2 import legacy_view


@dataclass(frozen=True)
class Protocol:
    """A chat protocol as the tests drive it: a model the plugin speaks it to, and what went over it on the wire."""

    name: str
    model: str
    unknown_model: str  # an id the plugin would speak this protocol to, which GigaChat does not know
    path: str

    def sent(self, emu: GigaChatEmulator) -> list[dict]:
        """The chat requests the emulator received, every one over this protocol, each read as a legacy body (v2's
        through the emulator's `legacy_view`, so one assertion holds for both)."""
        paths = [r.path for r in emu.requests if r.path.endswith("/chat/completions")]
        assert set(paths) <= {self.path}, paths
        return [body if self.name == "v1" else legacy_view(body) for body in emu.chat_requests]


PROTOCOLS = {
    "v1": Protocol("v1", "GigaChat-2-Max", "GigaChat-Nope", "/api/v1/chat/completions"),
    "v2": Protocol("v2", "GigaChat-3-Ultra", "GigaChat-3-Nope", "/api/v2/chat/completions"),
}


@pytest.fixture(params=sorted(PROTOCOLS))
def protocol(request: pytest.FixtureRequest) -> Protocol:
    return PROTOCOLS[request.param]
