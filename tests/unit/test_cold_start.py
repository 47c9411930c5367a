"""Starting the plugin loads what dify_plugin needs to register it, and nothing only a request needs.

Dify's serverless runtime starts a plugin per instance, so every module loaded at start is paid on every cold start.
The gigachat SDK and the code that serves requests are imported by the first request that needs them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Start the plugin as the daemon does (`python -m main` builds the Plugin, which loads the provider and model
# classes), without serving: then list the modules of this repository and the SDK that are loaded.
PROBE = """
import json, sys
import main
files = [name for name, module in sys.modules.items() if getattr(module, "__file__", None)]  # no namespace folders
loaded = sorted(name for name in files if name.split(".")[0] in ("models", "provider", "gigachat"))
with open(sys.argv[1], "w") as out:
    json.dump(loaded, out)
"""
LOADED_AT_START = {
    "models.common.catalog",  # schemas of customizable models: dify_plugin may ask for them first
    "models.common.model_base",
    "models.common.prefix",
    "models.common.raw_requests",  # wraps dispatch before the first request
    "models.common.stdio",
    "models.common.tokens",  # offline token counting
}


def test_starting_the_plugin_loads_neither_the_gigachat_sdk_nor_the_code_that_serves_requests(tmp_path: Path) -> None:
    listing = tmp_path / "loaded.json"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(listing)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    loaded = set(json.loads(listing.read_text()))
    assert not any(name.startswith("gigachat") for name in loaded)
    assert loaded == LOADED_AT_START
