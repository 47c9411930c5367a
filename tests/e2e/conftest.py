"""End-to-end fixtures: the packaged plugin, installed as Dify's daemon installs it, run through the daemon harness
against the GigaChat emulator."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devkit.emulator import GigaChatEmulator
from devkit.emulator.v2 import legacy_view
from devkit.harness import PluginProcess
from devkit.rig import credentials_for, install_plugin


@pytest.fixture(scope="session")
def packaged_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_plugin(tmp_path_factory.mktemp("install")).dir


@pytest.fixture(scope="session")
def emulator() -> Iterator[GigaChatEmulator]:
    with GigaChatEmulator() as emu:
        yield emu


@pytest.fixture(scope="session")
def plugin(packaged_plugin: Path) -> Iterator[PluginProcess]:
    with PluginProcess(packaged_plugin, python=sys.executable) as process:
        process.wait_ready(60)
        yield process


@pytest.fixture
def emu(emulator: GigaChatEmulator) -> Iterator[GigaChatEmulator]:
    """The shared emulator, with scripts, faults and records cleared for each test."""
    with emulator.cleared() as cleared:
        yield cleared


@pytest.fixture
def creds(emu: GigaChatEmulator) -> dict[str, str]:
    return credentials_for(emu)


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
