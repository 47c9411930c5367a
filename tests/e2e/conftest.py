"""End-to-end fixtures: the packaged plugin, installed as Dify's daemon installs it, run through the daemon harness
against the GigaChat emulator."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.emulator import GigaChatEmulator
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
