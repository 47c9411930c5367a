"""`python -m devkit.bench --profile FILE`: sample the plugin process with py-spy while the chosen figures run, and say
whose code its CPU time went to.

py-spy samples from outside the process, so the plugin runs unmodified (gevent included); its raw output (one
collapsed stack per line) is kept in FILE for flame graphs. Each sample is charged to the innermost frame that
belongs to one of: the SDK and its HTTP stack, dify_plugin (framing, parsing, dispatch), the plugin's own modules,
and everything else (gevent's hub, the interpreter). Callees of the plugin's code that belong to none of them
(pydantic models it builds, json, re) are charged to the plugin, since it chose to call them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devkit import ROOT

SDK = ("gigachat/", "httpx/", "httpcore/", "h11/")
_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^:)]*)(?::\d+)?\)$")


def _plugin_files() -> frozenset[str]:
    # py-spy names a module of the extracted plugin by its file name only (it is not under site-packages).
    return frozenset(path.name for path in (ROOT / "models").rglob("*.py")) | {"main.py"}


@contextmanager
def sampling(pid: int, out: Path, rate: int = 100) -> Iterator[None]:
    """py-spy record on `pid` until the block ends. A modest rate: every sample briefly stops the process."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("--profile needs py-spy (pip install -r requirements-dev.txt)")
    cmd = [spy, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw", "--output", str(out)]
    # py-spy stops the plugin while it reads a sample. If the scheduler then runs something else first (2 busy
    # cores), the plugin stays stopped: a higher priority, where allowed, keeps every stop short.
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=_raise_priority
    )
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        _, err = proc.communicate(timeout=60)
        if proc.returncode not in (0, -signal.SIGINT) or not out.exists():
            raise SystemExit(f"py-spy failed (it needs ptrace permission on the plugin process):\n{err}")


def _raise_priority() -> None:
    with contextlib.suppress(OSError):  # not root: sample at normal priority
        os.nice(-10)


def breakdown(raw: Path, top: int = 12) -> str:
    """Markdown: share of the plugin's sampled CPU by owner, then the plugin's own most expensive functions."""
    ours = _plugin_files()
    owners: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or "gevent/threadpool.py" in stack:
            continue  # threadpool threads only block in read(2) on stdin for dify_plugin: not CPU
        owner, function = "other (gevent hub, interpreter)", ""
        for frame in stack.split(";"):
            match = _FRAME.match(frame)
            file = match["file"] if match else ""
            if file.startswith(SDK):
                owner = "gigachat SDK + httpx"
            elif file.startswith("dify_plugin/"):
                owner = "dify_plugin (stdio framing, parsing, dispatch)"
            elif file in ours and match:
                owner, function = "plugin code", f"{match['name']} ({file})"
        owners[owner] += int(count)
        if owner == "plugin code":
            functions[function] += int(count)
    total = sum(owners.values()) or 1
    lines = ["| CPU of the plugin process | share |", "|---|---|"]
    lines += [f"| {owner} | {100 * n / total:.1f}% |" for owner, n in owners.most_common()]
    lines += ["", "| plugin function (self, with the library calls it makes) | share |", "|---|---|"]
    lines += [f"| {name} | {100 * n / total:.1f}% |" for name, n in functions.most_common(top)]
    return "\n".join(lines)
