"""Shared pieces of `make bench` (python -m devkit.bench): the packaged plugin run as Dify runs it, the emulator,
the direct SDK baseline, and the statistics every figure is reported with."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gigachat import GigaChat

from devkit import ROOT
from devkit.emulator import GigaChatEmulator
from devkit.emulator.client import make_client
from devkit.harness import PluginProcess, Reply
from devkit.harness import messages as m
from devkit.package import build

PROVIDER = "gigachat"
MODEL = "GigaChat-2"
EMBEDDING_MODEL = "Embeddings"


def isolate_environment() -> None:
    """The SDK fills unset settings from GIGACHAT_* and httpx honours proxies: neither may touch a loopback bench."""
    for name in [n for n in os.environ if n.startswith("GIGACHAT_")]:
        del os.environ[name]
    # Dify's daemon image does not set it, and with it dify_plugin writes each reply line with one unbuffered
    # write(2): a write cut short by a signal (py-spy's ptrace stops under --profile) loses the rest of the line.
    os.environ.pop("PYTHONUNBUFFERED", None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


def packaged_plugin(folder: Path) -> Path:
    """Build the .difypkg and install it as the daemon does: extract, then `compileall` (contract section 3.1)."""
    built = build(ROOT, folder / "dist")
    target = folder / "plugin"
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(target)
    compile_like_daemon(target)
    return target


def compile_like_daemon(plugin_dir: Path) -> None:
    # Without this the first start also pays for compiling the plugin's sources, which the daemon never does.
    cmd = [sys.executable, "-m", "compileall", "-q", "-x", r"\.venv|\.uv-cache", "."]
    subprocess.run(cmd, cwd=plugin_dir, check=True, stdout=subprocess.DEVNULL)


def fresh_key(emu: GigaChatEmulator) -> str:
    """An authorization key no client has used yet, so OAuth counts belong to one measurement."""
    return emu.add_account(str(uuid.uuid4()), str(uuid.uuid4()), "GIGACHAT_API_PERS")


def credentials(emu_urls: tuple[str, str], key: str) -> dict[str, str]:
    """What Dify stores for the provider; `emu_urls` is (base_url, auth_url)."""
    base_url, auth_url = emu_urls
    return {
        "auth_method": "authorization_key",
        "api_key": key,
        "scope": "GIGACHAT_API_PERS",
        "base_url": base_url,
        "auth_url": auth_url,
        "request_timeout": "60",
    }


def sdk_client(emu: GigaChatEmulator, key: str) -> GigaChat:
    """The baseline: one cached SDK client with every setting explicit, as the plugin builds its own."""
    return make_client(emu, credentials=key, timeout=60.0)


def user_messages(text: str) -> list[dict]:
    return [m.user(text)]


def chat_request(creds: dict, text: str, stream: bool) -> dict:
    return m.invoke_llm(PROVIDER, MODEL, creds, user_messages(text), stream=stream)


def num_tokens_request(creds: dict, text: str) -> dict:
    return m.llm_num_tokens(PROVIDER, MODEL, creds, user_messages(text))


def checked(reply: Reply) -> Reply:
    """A benchmark of failing calls measures nothing: stop at the first error."""
    if reply.error is not None or reply.violations:
        raise RuntimeError(f"plugin call failed: {reply.error or reply.violations}")
    return reply


@dataclass
class Rig:
    """The in-process emulator and one packaged plugin process, shared by every figure."""

    plugin_dir: Path
    emulator: GigaChatEmulator
    plugin: PluginProcess
    key: str = ""
    creds: dict[str, str] = field(default_factory=dict)

    @property
    def urls(self) -> tuple[str, str]:
        return self.emulator.base_url, self.emulator.auth_url

    def new_account(self) -> tuple[str, dict[str, str]]:
        key = fresh_key(self.emulator)
        return key, credentials(self.urls, key)

    def warm_up(self) -> None:
        """Import every lazily loaded code path once (in the plugin and here) before anything is timed."""
        self.key, self.creds = self.new_account()
        for stream in (False, True):
            checked(self.plugin.request(chat_request(self.creds, "warm up", stream)))
        checked(self.plugin.request(num_tokens_request(self.creds, "warm up")))
        checked(self.plugin.request(m.invoke_embedding(PROVIDER, EMBEDDING_MODEL, self.creds, ["warm up"])))
        checked(self.plugin.request(m.validate_provider_credentials(PROVIDER, self.creds)))


# ---- statistics and the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stat:
    """One figure over several runs: the median run and the range of runs."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Sequence[float]) -> Stat:
        if not values:
            raise ValueError("a figure needs at least one run")
        return cls(tuple(values))

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def fmt(self, unit: str = "", scale: float = 1.0, digits: int = 2) -> str:
        def one(value: float) -> str:
            return f"{value * scale:,.{digits}f}"

        lo, hi = min(self.values), max(self.values)
        spread = "" if len(self.values) == 1 or one(lo) == one(hi) else f" ({one(lo)}–{one(hi)})"
        suffix = unit if unit in ("", "×") else " " + unit  # "3.2×", but "1.5 ms"
        return f"{one(self.median)}{suffix}{spread}"


def ms(stat: Stat, digits: int = 2) -> str:
    return stat.fmt("ms", 1000.0, digits)


def differences(a: Sequence[float], b: Sequence[float]) -> Stat:
    """Per-run differences: both sides of a run share the machine's state at that moment."""
    return Stat.of([x - y for x, y in zip(a, b, strict=True)])


def per_run_median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


@dataclass(frozen=True)
class Row:
    figure: str
    measure: str
    plugin: str
    baseline: str
    delta: str = ""
    target: str = ""
    met: bool | None = None  # None: no target for this row


def markdown(rows: Sequence[Row]) -> str:
    head = "| # | Measure | Plugin | Baseline, same run | Plugin adds | Target | Met |\n|---|---|---|---|---|---|---|"
    mark = {True: "yes", False: "**no**", None: ""}
    lines = [
        f"| {r.figure} | {r.measure} | {r.plugin} | {r.baseline} | {r.delta} | {r.target} | {mark[r.met]} |"
        for r in rows
    ]
    return "\n".join([head, *lines])
