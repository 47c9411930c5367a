"""Fixtures of the devkit's own tests (the emulator, the daemon harness, the packager and the benchmarks)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def clean_gigachat_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK fills every unset setting from GIGACHAT_*: a developer's shell must not leak into tests.
    Loopback must also bypass any configured proxy."""
    for name in list(os.environ):
        if name.startswith("GIGACHAT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
