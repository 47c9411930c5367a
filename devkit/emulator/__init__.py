"""A loopback GigaChat that the real `gigachat` SDK talks to unmodified, shaped after the SDK's recordings of the
live API: server.py (HTTP(S), accounts and tokens, the knobs tests turn), routes.py (each endpoint), replies.py
(what the model answers), rules.py (what GigaChat accepts), faults.py (injectable failures), gate.py (holding
requests until enough are in flight together), client.py (an SDK client and TLS contexts for it), __main__.py
(`python -m devkit.emulator`, the emulator in a process of its own).

    with GigaChatEmulator() as emu:
        client = make_client(emu)  # every setting explicit, none read from GIGACHAT_* variables
"""

from devkit.emulator.builtin import ToolAnswer
from devkit.emulator.faults import Fault
from devkit.emulator.gate import Gate
from devkit.emulator.raw import RawAnswer
from devkit.emulator.replies import Reply
from devkit.emulator.routes import RecordedRequest, UploadedFile
from devkit.emulator.rules import EMBEDDING_DIMENSIONS, EmbeddingLimits, count_tokens
from devkit.emulator.server import GigaChatEmulator

__all__ = [
    "EMBEDDING_DIMENSIONS",
    "EmbeddingLimits",
    "Fault",
    "Gate",
    "GigaChatEmulator",
    "RawAnswer",
    "RecordedRequest",
    "Reply",
    "ToolAnswer",
    "UploadedFile",
    "count_tokens",
]
