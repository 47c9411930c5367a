"""Protocol output that survives interrupted writes.

dify_plugin writes each reply line with `sys.stdout.write` and `flush`. When PYTHONUNBUFFERED is set (many container
images set it), sys.stdout writes straight to the file descriptor, and a write that a signal cuts short loses the
rest of the line without an error: the daemon then reads invalid JSON. A BufferedWriter keeps writing until every
byte is out, and dify_plugin flushes after each message, so nothing waits in the buffer.
"""

from __future__ import annotations

import io
import sys


def ensure_buffered_stdout() -> None:
    stdout = sys.stdout
    if isinstance(stdout, io.TextIOWrapper) and isinstance(stdout.buffer, io.FileIO):
        # The original wrapper stays alive as sys.__stdout__, so its file descriptor is not closed under us.
        sys.stdout = io.TextIOWrapper(
            io.BufferedWriter(stdout.buffer), encoding=stdout.encoding, errors=stdout.errors, write_through=False
        )
