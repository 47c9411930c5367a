"""`make debug`: the plugin connects to a running Dify over TCP, registers, and serves requests there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.harness import StandInDaemon
from devkit.harness import messages as m
from devkit.rig import PROVIDER, credentials_for

pytestmark = pytest.mark.e2e


def _without_remote_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("REMOTE_INSTALL", "INSTALL_METHOD"))}


def test_with_a_dotenv_file_the_plugin_registers_with_dify_and_serves_requests(packaged_plugin, emu, tmp_path):
    folder = tmp_path / "plugin"
    shutil.copytree(packaged_plugin, folder)
    with StandInDaemon(key="debug-key-1") as daemon:
        # What a developer writes after copying .env.example; make debug reads nothing else.
        (folder / ".env").write_text(
            f"INSTALL_METHOD=remote\nREMOTE_INSTALL_URL={daemon.address}\nREMOTE_INSTALL_KEY=debug-key-1\n"
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "main"],
            cwd=folder,
            env=_without_remote_settings(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            daemon.wait_registered(60)
            assert daemon.handshake_ok
            assert daemon.registration_errors == []
            assert daemon.manifest["name"] == "gigachat"
            models = {model["model"] for model in daemon.declaration["models"]}
            assert {"GigaChat-2", "GigaChat-2-Pro", "GigaChat-2-Max", "Embeddings", "EmbeddingsGigaR"} <= models
            assert {"icon_s_en.svg", "icon_l_en.svg"} <= set(daemon.assets)
            reply = daemon.request(m.validate_provider_credentials(PROVIDER, credentials_for(emu)))
            assert reply.error is None
            assert reply.chunks[0]["result"] is True
        finally:
            process.terminate()
            process.wait(10)


def test_a_wrong_debugging_key_is_refused(packaged_plugin: Path):
    with StandInDaemon(key="the-right-key") as daemon:
        process = daemon.spawn(packaged_plugin, key="a-wrong-key", env=_without_remote_settings())
        try:
            with pytest.raises(ConnectionError):
                daemon.wait_registered(30)
            assert daemon.handshake_ok is False
        finally:
            process.terminate()
            process.wait(10)
