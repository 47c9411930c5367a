"""Once the daemon knows the plugin is up, import what requests need, so that the first request does not wait for it.

Starting the plugin loads only what dify_plugin needs to register it; the model classes import the code that serves
requests (and the gigachat SDK beneath it) when first called. Between its first heartbeat and its first request the
plugin is idle, and that is when this imports the same modules in the background. A request arriving before they
are loaded waits only for what is left. Dify's serverless runtime sends no heartbeats and a request at once, so
there each request imports what it needs itself.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

# What the model classes and the provider import on their first call.
REQUEST_MODULES = ("models.llm.chat", "models.text_embedding.embed", "models.common.validation")


def after_first_heartbeat(plugin: Any) -> Any:
    """Make the plugin's first heartbeat start `import_request_modules` in the background; later ones are unchanged."""
    writer = plugin.default_writer
    if writer is None:  # serverless: no heartbeats
        return plugin
    heartbeat = writer.heartbeat

    def first_heartbeat() -> None:
        writer.heartbeat = heartbeat
        heartbeat()
        threading.Thread(target=import_request_modules, name="gigachat-warm-up", daemon=True).start()

    writer.heartbeat = first_heartbeat
    return plugin


def import_request_modules() -> None:
    for name in REQUEST_MODULES:
        importlib.import_module(name)
