"""models/common/warm_up.py: the plugin's first heartbeat goes out first, then the request code is imported in the
background; later heartbeats pass straight through."""

from __future__ import annotations

import inspect
import threading
from types import SimpleNamespace

import pytest
from dify_plugin.core.server.io_server import IOServer

from models.common import warm_up


class Writer:
    def __init__(self, events: list[str]) -> None:
        self.events = events

    def heartbeat(self) -> None:
        self.events.append("heartbeat")


@pytest.fixture
def imported(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], threading.Event]:
    events: list[str] = []
    done = threading.Event()

    def record() -> None:
        events.append("imported")
        done.set()

    monkeypatch.setattr(warm_up, "import_request_modules", record)
    return events, done


def test_the_first_heartbeat_goes_out_then_the_request_code_is_imported_once(imported) -> None:
    events, done = imported
    plugin = SimpleNamespace(default_writer=Writer(events))
    assert warm_up.after_first_heartbeat(plugin) is plugin
    plugin.default_writer.heartbeat()
    assert done.wait(10)
    plugin.default_writer.heartbeat()
    assert events == ["heartbeat", "imported", "heartbeat"]


def test_without_heartbeats_nothing_is_imported_ahead(imported) -> None:
    events, _ = imported
    plugin = SimpleNamespace(default_writer=None)
    assert warm_up.after_first_heartbeat(plugin) is plugin
    assert events == []


def test_the_sdk_still_sends_heartbeats_through_the_default_writer() -> None:
    # `after_first_heartbeat` wraps `default_writer.heartbeat`; if the SDK stops calling it, nothing is imported ahead.
    assert "self.default_writer.heartbeat()" in inspect.getsource(IOServer._heartbeat)
