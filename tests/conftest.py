"""Makes the repository root importable (`models.*`, `devkit.*`, `tests.*`) however pytest is started, and keeps
loopback traffic away from any proxy configured on the machine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
for _name in ("NO_PROXY", "no_proxy"):
    _entries = [e for e in os.environ.get(_name, "").split(",") if e]
    os.environ[_name] = ",".join([*_entries, *(h for h in _LOOPBACK if h not in _entries)])
