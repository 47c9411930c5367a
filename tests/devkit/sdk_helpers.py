"""Helpers for the emulator's tests, which drive it through the real `gigachat` SDK or raw HTTP."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from devkit.emulator import GigaChatEmulator


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
