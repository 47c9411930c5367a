"""A loopback GigaChat emulator that the real `gigachat` SDK talks to unmodified.

with GigaChatEmulator() as emu:
    client = GigaChat(base_url=emu.base_url, auth_url=emu.auth_url, credentials=emu.credentials(), ...)
"""

from devkit.emulator.builtin import ToolAnswer
from devkit.emulator.faults import Fault
from devkit.emulator.raw import RawAnswer
from devkit.emulator.replies import Reply
from devkit.emulator.routes import RecordedRequest, UploadedFile
from devkit.emulator.rules import EMBEDDING_DIMENSIONS, EmbeddingLimits, count_tokens
from devkit.emulator.server import GigaChatEmulator

__all__ = [
    "EMBEDDING_DIMENSIONS",
    "EmbeddingLimits",
    "Fault",
    "GigaChatEmulator",
    "RawAnswer",
    "RecordedRequest",
    "Reply",
    "ToolAnswer",
    "UploadedFile",
    "count_tokens",
]
