"""The plugin's stdout keeps writing until a whole protocol line is out, also with PYTHONUNBUFFERED set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import io, sys
from models.common.stdio import ensure_buffered_stdout
ensure_buffered_stdout()
assert isinstance(sys.stdout.buffer, io.BufferedWriter), type(sys.stdout.buffer)
sys.stdout.write("x" * 300000 + "\\n")
sys.stdout.flush()
"""


def _run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, timeout=60)


def test_an_unbuffered_stdout_is_given_a_buffer_that_writes_every_byte():
    result = _run({**os.environ, "PYTHONUNBUFFERED": "1"})
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == b"x" * 300000 + b"\n"


def test_a_buffered_stdout_is_left_as_it_is():
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    result = _run(env)
    assert result.returncode == 0, result.stderr.decode()
    assert len(result.stdout) == 300001
