"""For every test: the repository root importable (`models.*`, `devkit.*`, `tests.*`) however pytest is started,
loopback traffic kept away from any proxy configured on the machine, and real threads in the test process. And the
plugin as Dify runs it, for the e2e tests and the benchmarks' smoke tests: packaged, installed as the daemon installs
it, and started against the GigaChat emulator, once per test worker."""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from devkit.emulator import GigaChatEmulator  # noqa: E402  (importable from here on)
from devkit.harness import PluginProcess  # noqa: E402
from devkit.rig import Rig, credentials_for, running_rig  # noqa: E402

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
for _name in ("NO_PROXY", "no_proxy"):
    _entries = [e for e in os.environ.get(_name, "").split(",") if e]
    os.environ[_name] = ",".join([*_entries, *(h for h in _LOOPBACK if h not in _entries)])

# The test process plays Dify's daemon, which gevent never touches, but importing dify_plugin (as unit tests of the
# model classes do) monkey-patches the importing process (dify_plugin/_gevent.py): its threads would turn into
# greenlets, and pytest-xdist's workers, which take their tests from a thread, would deadlock. Here the patching
# module is an empty one; every plugin process the tests start patches itself exactly as under Dify.
sys.modules.setdefault("dify_plugin._gevent", types.ModuleType("dify_plugin._gevent"))


@pytest.fixture(scope="session")
def rig() -> Iterator[Rig]:
    with running_rig() as running:
        yield running


@pytest.fixture(scope="session")
def packaged_plugin(rig: Rig) -> Path:
    """The installed plugin's folder, where the daemon runs `python -m main`."""
    return rig.plugin_dir


@pytest.fixture(scope="session")
def emulator(rig: Rig) -> GigaChatEmulator:
    return rig.emulator


@pytest.fixture(scope="session")
def plugin(rig: Rig) -> PluginProcess:
    return rig.plugin


@pytest.fixture
def emu(emulator: GigaChatEmulator) -> Iterator[GigaChatEmulator]:
    """The shared emulator, with scripts, faults and records cleared for each test."""
    with emulator.cleared() as cleared:
        yield cleared


@pytest.fixture
def creds(emu: GigaChatEmulator) -> dict[str, str]:
    return credentials_for(emu)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """End-to-end tests first: most of their time is waiting (retry backoffs, timeouts, the plugin's own pace), which
    overlaps best with the CPU-bound unit and devkit tests that the other workers run meanwhile."""
    first = {"e2e": 0, "devkit": 1}
    items.sort(key=lambda item: first.get(item.path.parent.name, 2))
