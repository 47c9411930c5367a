"""A daemon harness: runs a Dify plugin as the plugin daemon does and checks every reply against the daemon's rules.

process.py runs it over stdio (`PluginProcess`), remote.py stands in for the daemon's remote-debugging endpoint
(`StandInDaemon`), messages.py builds the requests the daemon sends, and validation.py holds the daemon's rules.

Usage (a sketch)::

    from devkit.harness import PluginProcess, messages as m
    with PluginProcess(plugin_dir) as p:
        p.wait_ready()
        reply = p.request(m.invoke_llm("gigachat", "GigaChat-2", creds, [m.user("hi")]))
"""

from . import messages, validation
from .process import (
    DaemonRuleViolation,
    Demux,
    PluginProcess,
    PluginReplyError,
    PluginStartupError,
    ReceivedMessage,
    Reply,
)
from .remote import StandInDaemon

__all__ = [
    "DaemonRuleViolation",
    "Demux",
    "PluginProcess",
    "PluginReplyError",
    "PluginStartupError",
    "ReceivedMessage",
    "Reply",
    "StandInDaemon",
    "messages",
    "validation",
]
