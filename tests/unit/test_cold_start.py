"""Starting the plugin loads what dify_plugin needs to register it, and nothing only a request needs.

Dify's serverless runtime starts a plugin per instance, so every module loaded at start is paid on every cold start.
The gigachat SDK and the code that serves requests are imported by the first request that needs them, or after the
first heartbeat (models/common/warm_up.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Start the plugin as the daemon does (`python -m main` builds the Plugin, which loads the provider and model
# classes), without serving: list the modules of this repository and the SDK that are loaded, then again after the
# warm-up has imported the request code.
PROBE = """
import json, sys

def loaded():
    # Modules, not packages: a package's __init__.py only says what its folder holds.
    files = [name for name, module in sys.modules.items() if not getattr(module, "__path__", None)]
    return sorted(name for name in files if name.split(".")[0] in ("models", "provider", "gigachat"))

import main
at_start = loaded()
main.warm_up.import_request_modules()
with open(sys.argv[1], "w") as out:
    json.dump({"at_start": at_start, "warmed_up": loaded()}, out)
"""
LOADED_AT_START = {
    "models.common.catalog",  # schemas of customizable models: dify_plugin may ask for them first
    "models.common.model_base",
    "models.common.prefix",
    "models.common.pricing",  # a customizable model's prices are part of its schema
    "models.common.raw_requests",  # wraps dispatch before the first request
    "models.common.stdio",
    "models.common.tokens",  # offline token counting
    "models.common.warm_up",
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    listing = tmp_path_factory.mktemp("cold-start") / "loaded.json"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(listing)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return {moment: set(names) for moment, names in json.loads(listing.read_text()).items()}


def test_starting_the_plugin_loads_neither_the_gigachat_sdk_nor_the_code_that_serves_requests(loaded) -> None:
    assert not any(name.startswith("gigachat") for name in loaded["at_start"])
    assert loaded["at_start"] == LOADED_AT_START


def test_the_warm_up_loads_the_code_every_kind_of_request_needs(loaded) -> None:
    assert {"gigachat.client", "models.llm.chat", "models.text_embedding.embed", "models.common.validation"} <= loaded[
        "warmed_up"
    ]
