"""End-to-end fixtures: the packaged plugin, extracted as Dify's daemon extracts it, run through the daemon harness
against the GigaChat emulator."""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit import ROOT
from devkit.emulator import GigaChatEmulator
from devkit.harness import PluginProcess
from devkit.package import build

PROVIDER = "gigachat"


@pytest.fixture(scope="session")
def packaged_plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = build(ROOT, tmp_path_factory.mktemp("dist"))
    target = tmp_path_factory.mktemp("plugin")
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(target)
    return target


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
    emulator.reset()
    yield emulator
    emulator.reset()


@pytest.fixture
def creds(emu: GigaChatEmulator) -> dict[str, str]:
    return credentials_for(emu)


def credentials_for(emu: GigaChatEmulator, **overrides: str) -> dict[str, str]:
    values = {
        "auth_method": "authorization_key",
        "api_key": emu.credentials(),
        "scope": "GIGACHAT_API_PERS",
        "base_url": emu.base_url,
        "auth_url": emu.auth_url,
        "verify_ssl": "true",
        "request_timeout": "30",
        "prompt_caching": "true",
    }
    values.update(overrides)
    return values
