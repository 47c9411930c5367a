"""Connecting to the emulator: an SDK client with every setting explicit, and TLS contexts from a throwaway CA."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from gigachat import GigaChat

if TYPE_CHECKING:
    import trustme

    from devkit.emulator.server import GigaChatEmulator


def make_client(emu: GigaChatEmulator, **overrides: Any) -> GigaChat:
    """A client with every setting explicit (the SDK would fill unset ones from GIGACHAT_* variables);
    an override of None removes that setting."""
    settings = {"base_url": emu.base_url, "auth_url": emu.auth_url, "credentials": emu.credentials()}
    settings |= {"scope": "GIGACHAT_API_PERS", "model": "GigaChat-2", "timeout": 5.0, "max_retries": 0} | overrides
    return GigaChat(**{k: v for k, v in settings.items() if v is not None})


def tls_contexts(ca: trustme.CA, *hosts: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context for `GigaChatEmulator(ssl_context=...)` with a certificate `ca` issued for `hosts` (default:
    127.0.0.1), client context trusting `ca`)."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*(hosts or ("127.0.0.1",))).configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client
