"""TLS trust for GigaChat's hosts, with verification on by default.

GigaChat's API and OAuth hosts chain to the Russian Trusted Root CA, which is not in the standard bundles, so a
plain client fails with CERTIFICATE_VERIFY_FAILED. We trust the standard roots (certifi) plus the bundled public
Russian Trusted Root and Sub CAs, plus whatever CA the user pastes (given to OpenSSL as text, never as a file).
The client certificate and key for mutual TLS are the one thing OpenSSL loads only from a path; they go to an
anonymous in-memory file that no directory lists (see load_client_certificate).
"""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import certifi

from .settings import CredentialsError, GigaChatSettings

CERTS_DIR = Path(__file__).with_name("certs")
BUNDLED_CA_FILES = ("russian_trusted_root_ca.pem", "russian_trusted_sub_ca_2024.pem", "russian_trusted_sub_ca_2022.pem")


@functools.cache
def bundled_ca_pem() -> str:
    return "".join((CERTS_DIR / name).read_text(encoding="ascii") for name in BUNDLED_CA_FILES)


def ssl_context_for(settings: GigaChatSettings) -> ssl.SSLContext | None:
    """The context both the API and the OAuth connections use; None means the user turned verification off."""
    if not settings.verify_ssl:
        if settings.client_certificate:
            return _with_client_certificate(_unverified_context(), settings)
        return None
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_verify_locations(cadata=bundled_ca_pem())
    if settings.ca_certificate:
        try:
            context.load_verify_locations(cadata=settings.ca_certificate)
        except ssl.SSLError:
            raise CredentialsError("CA certificate: OpenSSL could not read it as an X.509 certificate.") from None
    if settings.client_certificate:
        _with_client_certificate(context, settings)
    return context


def _unverified_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _with_client_certificate(context: ssl.SSLContext, settings: GigaChatSettings) -> ssl.SSLContext:
    load_client_certificate(
        context, settings.client_certificate or "", settings.client_key or "", settings.client_key_password
    )
    return context


def load_client_certificate(context: ssl.SSLContext, certificate_pem: str, key_pem: str, password: str | None) -> None:
    """Load a client certificate and key given as PEM text into the context.

    OpenSSL's load_cert_chain reads only from a path. On Linux (Dify's plugin containers) the PEM goes to a memfd: an
    anonymous file in memory, reachable only through this process's /proc/self/fd and closed before this function
    returns, so the key never touches a file system. Elsewhere it goes to a private (0600) temporary file that is
    deleted as soon as OpenSSL has read it, before this function returns, whatever happens.
    """
    try:
        with _pem_path(key_pem + certificate_pem) as path:
            # Never None: with no password OpenSSL prompts for one on the terminal or reads it from fd 0, which in a
            # plugin is the daemon's request stream. An empty password just fails to decrypt an encrypted key.
            context.load_cert_chain(path, password=password or "")
    except ssl.SSLError:
        raise CredentialsError(
            "Client certificate: the certificate and private key do not load together "
            "(wrong key, wrong password, or not a matching pair)."
        ) from None


@contextlib.contextmanager
def _pem_path(pem: str) -> Iterator[str]:
    fd = _memfd()
    if fd is not None:
        try:
            _write_all(fd, pem.encode("ascii"))
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    fd, path = tempfile.mkstemp(prefix="gigachat-mtls-", suffix=".pem")
    try:
        _write_all(fd, pem.encode("ascii"))
        os.close(fd)
        fd = -1
        yield path
    finally:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _memfd() -> int | None:
    """An anonymous in-memory file that OpenSSL can open by path, or None where there is none."""
    create = getattr(os, "memfd_create", None)
    if create is None:
        return None
    try:
        fd = create("gigachat-mtls", os.MFD_CLOEXEC)
    except OSError:
        return None
    if not os.path.exists(f"/proc/self/fd/{fd}"):  # no /proc mounted: OpenSSL could not open it by path
        os.close(fd)
        return None
    return fd


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
