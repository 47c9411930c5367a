"""The plugin installed and run as Dify's daemon runs it, against the emulator: what the e2e tests, `make bench`,
`make load` and `make demo` share.

- `install_plugin`: build the .difypkg, extract it, `compileall` it (the daemon's install, contract section 3.1).
- `credentials_for`: the provider credentials Dify would store for an emulator account.
- `Rig` / `running_rig`: one emulator and one plugin process, with an account of their own, for measurements.
- `ProcessStats` / `cpu_seconds` / `PeakMemory`: what a process holds and has spent, read with psutil.
- `timed_request`: one request and how long the plugin took to end it, by the harness's clock.
- `snapshot`: every file under a folder with its digest, to prove that nothing was written there.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import psutil
import yaml

from devkit import ROOT
from devkit.emulator import GigaChatEmulator
from devkit.harness import PluginProcess, Reply
from devkit.harness import messages as m
from devkit.package import Built, build

PROVIDER = "gigachat"
MODEL = "GigaChat-2"
V2_MODEL = "GigaChat-3-Ultra"  # a model the plugin speaks GigaChat's v2 chat protocol to
EMBEDDING_MODEL = "Embeddings"
PERSONAL = "GIGACHAT_API_PERS"


# ---- installing the plugin ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Installed:
    dir: Path  # the extracted plugin, where the daemon runs `python -m main`
    built: Built  # the package it came from


def install_plugin(target: Path, dist: Path | None = None, source: Path = ROOT) -> Installed:
    """Build the .difypkg of the plugin at `source` (this checkout by default) into `dist` (default: `target`/dist)
    and install it into `target`/plugin as the daemon does: extract, then `compileall`, so a first start does not also
    pay for compiling the sources, which the daemon's never does."""
    built = build(source, dist or target / "dist")
    if built.selection.untracked:  # most likely a new module someone forgot to `git add`
        warnings.warn(f"not tracked by git, so not packaged: {', '.join(built.selection.untracked)}", stacklevel=2)
    plugin_dir = target / "plugin"
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(plugin_dir)
    compile_like_daemon(plugin_dir)
    return Installed(plugin_dir, built)


def compile_like_daemon(plugin_dir: Path) -> None:
    cmd = [sys.executable, "-m", "compileall", "-q", "-x", r"\.venv|\.uv-cache", "."]
    subprocess.run(cmd, cwd=plugin_dir, check=True, stdout=subprocess.DEVNULL)


def isolate_environment() -> None:
    """For the command-line runs: the SDK fills unset settings from GIGACHAT_* and httpx honours proxies, and neither
    may touch a loopback run."""
    for name in [n for n in os.environ if n.startswith("GIGACHAT_")]:
        del os.environ[name]
    # Dify's daemon image does not set it, and with it dify_plugin writes each reply line with one unbuffered
    # write(2): a write cut short by a signal (py-spy's ptrace stops under --profile) loses the rest of the line.
    os.environ.pop("PYTHONUNBUFFERED", None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


# ---- credentials --------------------------------------------------------------------------------------------------


class Emulated(Protocol):
    """What credentials need of an emulator: the in-process one, or one running in a process of its own."""

    base_url: str
    auth_url: str

    def credentials(self) -> str: ...


def credentials_for(emu: Emulated, **overrides: str) -> dict[str, str]:
    """What Dify stores for the provider: the emulator's personal account, every other field as the provider form
    would hold it, then `overrides` (a key of another scope comes with its `api_key` and `scope`)."""
    values = {
        "auth_method": "authorization_key",
        "api_key": emu.credentials(),
        "scope": PERSONAL,
        "base_url": emu.base_url,
        "auth_url": emu.auth_url,
        "verify_ssl": "true",
        "request_timeout": "30",
        "prompt_caching": "true",
    }
    return values | overrides


def fresh_key(emu: GigaChatEmulator, scope: str = PERSONAL) -> str:
    """An authorization key no cached client has used, so the OAuth calls that follow belong to one measurement."""
    return emu.add_account(str(uuid.uuid4()), str(uuid.uuid4()), scope)


# ---- requests -----------------------------------------------------------------------------------------------------


def chat_request(creds: dict, text: str, stream: bool, model: str = MODEL) -> dict:
    return m.invoke_llm(PROVIDER, model, creds, [m.user(text)], stream=stream)


def num_tokens_request(creds: dict, text: str) -> dict:
    return m.llm_num_tokens(PROVIDER, MODEL, creds, [m.user(text)])


def embedding_request(creds: dict, texts: list[str], model: str = EMBEDDING_MODEL) -> dict:
    return m.invoke_embedding(PROVIDER, model, creds, texts)


def max_chunks(model: str = EMBEDDING_MODEL) -> int:
    """The texts per call Dify sends a text-embedding model, from the model's YAML."""
    entity = yaml.safe_load((ROOT / "models" / "text_embedding" / f"{model}.yaml").read_text(encoding="utf-8"))
    return int(entity["model_properties"]["max_chunks"])


def timed_request(plugin: PluginProcess, data: dict, timeout: float = 60) -> tuple[Reply, float]:
    """The reply and the seconds from writing the request to reading its last message, both on the harness's clock
    (time.perf_counter, which stamps every message it reads)."""
    started = time.perf_counter()
    reply = plugin.request(data, timeout)
    return reply, reply.messages[-1].ts - started


def checked(reply: Reply) -> Reply:
    """A measurement of failing calls measures nothing: stop at the first error."""
    if reply.error is not None or reply.violations:
        raise RuntimeError(f"plugin call failed: {reply.error or reply.violations}")
    return reply


# ---- the rig ------------------------------------------------------------------------------------------------------


@dataclass
class Rig:
    """The emulator and one installed plugin process, shared by several measurements, with an account of its own."""

    emulator: GigaChatEmulator
    plugin: PluginProcess
    plugin_dir: Path
    key: str = ""
    creds: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.key:
            self.key, self.creds = self.account()

    def account(self, scope: str = PERSONAL, **overrides: str) -> tuple[str, dict[str, str]]:
        """A fresh key of `scope` and its credentials (with `overrides`)."""
        key = fresh_key(self.emulator, scope)
        return key, credentials_for(self.emulator, api_key=key, scope=scope, **overrides)

    def warm_up(self) -> None:
        """Import every lazily loaded code path once (in the plugin and here) before anything is timed, a full-size
        embedding reply included."""
        for stream in (False, True):
            for model in (MODEL, V2_MODEL):
                checked(self.plugin.request(chat_request(self.creds, "warm up", stream, model)))
        checked(self.plugin.request(num_tokens_request(self.creds, "warm up")))
        checked(self.plugin.request(embedding_request(self.creds, ["warm up"] * max_chunks())))
        checked(self.plugin.request(m.validate_provider_credentials(PROVIDER, self.creds)))
        self.emulator.reset()


@contextmanager
def running_rig(latency: float = 0.0, chunk_delay: float = 0.0, source: Path = ROOT) -> Iterator[Rig]:
    """Install the plugin (of the checkout at `source`) into a temporary folder and run it against a fresh emulator."""
    with tempfile.TemporaryDirectory(prefix="gigachat-rig-") as folder:
        plugin_dir = install_plugin(Path(folder), source=source).dir
        with (
            GigaChatEmulator(latency=latency, chunk_delay=chunk_delay) as emu,
            PluginProcess(plugin_dir, python=sys.executable) as plugin,
        ):
            plugin.wait_ready(120)
            yield Rig(emu, plugin, plugin_dir)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root: (kind, size, mtime, sha256) — a changed, added or removed entry shows."""
    entries: dict[str, tuple] = {}
    for path in sorted(root.rglob("*")):
        stat = path.lstat()
        if path.is_file() and not path.is_symlink():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            entries[str(path.relative_to(root))] = ("file", stat.st_size, stat.st_mtime_ns, digest)
        else:
            entries[str(path.relative_to(root))] = ("other", stat.st_mode)
    return entries


# ---- process statistics -------------------------------------------------------------------------------------------


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (this one by default). Unlike wall time, it hardly moves when other work
    shares the machine, so it is the steadier measure of what a piece of work costs."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


@dataclass(frozen=True)
class ProcessStats:
    """What a leak would grow: resident memory, open descriptors, and the sockets among them."""

    rss_bytes: int
    fds: int
    sockets: int

    @classmethod
    def of(cls, pid: int) -> ProcessStats:
        process = psutil.Process(pid)
        return cls(process.memory_info().rss, process.num_fds(), len(process.net_connections(kind="all")))

    def __str__(self) -> str:
        return f"{self.rss_bytes / 2**20:.1f} MiB, {self.fds} fds ({self.sockets} sockets)"


class PeakMemory:
    """The highest resident memory of a process while a block runs, sampled every few milliseconds.

    with PeakMemory(plugin.pid) as memory:
        plugin.request(...)
    memory.growth  # bytes above what the process held when the block began

    A burst shorter than the sampling interval can slip between samples; what this is for (a reader inflating
    hundreds of megabytes) takes far longer than that.
    """

    def __init__(self, pid: int, interval: float = 0.002) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name=f"peak-memory-{pid}", daemon=True)
        self.start = self.peak = 0

    def _rss(self) -> int:
        try:
            return self._process.memory_info().rss
        except psutil.Error:  # the process is gone: what it held last is the peak
            return 0

    def _sample(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, self._rss())

    @property
    def growth(self) -> int:
        return max(self.peak - self.start, 0)

    def __enter__(self) -> PeakMemory:
        self.start = self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
