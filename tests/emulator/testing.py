"""Helpers for tests that drive the emulator through the real `gigachat` SDK."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from gigachat import GigaChat

if TYPE_CHECKING:
    import trustme

    from tests.emulator.server import GigaChatEmulator


@pytest.fixture
def clean_gigachat_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK fills every unset setting from GIGACHAT_*: a developer's shell must not leak into tests.
    Loopback must also bypass any configured proxy."""
    for name in list(os.environ):
        if name.startswith("GIGACHAT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def make_client(emu: GigaChatEmulator, **overrides: Any) -> GigaChat:
    """A client with every setting explicit (the SDK would fill unset ones from GIGACHAT_* variables);
    an override of None removes that setting."""
    settings = {"base_url": emu.base_url, "auth_url": emu.auth_url, "credentials": emu.credentials()}
    settings |= {"scope": "GIGACHAT_API_PERS", "model": "GigaChat-2", "timeout": 5.0, "max_retries": 0} | overrides
    return GigaChat(**{k: v for k, v in settings.items() if v is not None})


def tls_contexts(ca: trustme.CA, host: str = "127.0.0.1") -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context for `GigaChatEmulator(ssl_context=...)`, client context trusting `ca`)."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(host).configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


def collect(stream: Iterable[Any]) -> tuple[list[Any], Exception | None]:
    """Chunks received before the stream ended, and what ended it (None for a clean end)."""
    chunks: list[Any] = []
    try:
        chunks.extend(stream)
    except Exception as exc:
        return chunks, exc
    return chunks, None


def stream_text(chunks: Iterable[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks)


def table(*rows: tuple[Any, ...]) -> dict[str, Any]:
    """`pytest.mark.parametrize` keyword arguments from `(id, *values)` rows."""
    return {"argvalues": [row[1:] for row in rows], "ids": [row[0] for row in rows]}


def raw_post(emu: GigaChatEmulator, path: str, body: Any) -> httpx.Response:
    """POST JSON the SDK would refuse to build, authorised with a fresh token."""
    headers = {"Authorization": f"Bearer {emu.issue_access_token()}"}
    return httpx.post(emu.base_url + path, json=body, headers=headers, timeout=5)


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def call(name: str, arguments: Any) -> dict[str, Any]:
    """An assistant turn calling `name` (legacy `function_call` shape)."""
    return {"role": "assistant", "content": "", "function_call": {"name": name, "arguments": arguments}}


def result(name: str | None, content: str = "{}") -> dict[str, Any]:
    """A function-result turn; `name=None` leaves the name out."""
    return {"role": "function", "content": content, **({"name": name} if name else {})}
