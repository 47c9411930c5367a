"""For every test: the repository root importable (`models.*`, `devkit.*`, `tests.*`) however pytest is started,
loopback traffic kept away from any proxy configured on the machine, and real threads in the test process."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
for _name in ("NO_PROXY", "no_proxy"):
    _entries = [e for e in os.environ.get(_name, "").split(",") if e]
    os.environ[_name] = ",".join([*_entries, *(h for h in _LOOPBACK if h not in _entries)])

# The test process plays Dify's daemon, which gevent never touches, but importing dify_plugin (as unit tests of the
# model classes do) monkey-patches the importing process (dify_plugin/_gevent.py): its threads would turn into
# greenlets, and pytest-xdist's workers, which take their tests from a thread, would deadlock. Here the patching
# module is an empty one; every plugin process the tests start patches itself exactly as under Dify.
sys.modules.setdefault("dify_plugin._gevent", types.ModuleType("dify_plugin._gevent"))
