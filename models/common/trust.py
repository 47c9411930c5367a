"""TLS trust for GigaChat's hosts, with verification on by default.

GigaChat's API and OAuth hosts chain to the Russian Trusted Root CA, which is not in the standard bundles, so a
plain client fails with CERTIFICATE_VERIFY_FAILED. We trust the standard roots (certifi) plus the bundled public
Russian Trusted Root and Sub CAs, plus whatever CA the user pastes. Nothing here touches the disk except the
client key for mutual TLS, which OpenSSL can only load from a file (see load_client_certificate).
"""

from __future__ import annotations

import contextlib
import functools
import os
import ssl
import tempfile
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

    OpenSSL's load_cert_chain reads only from files, so the PEM goes to a private (0600) temporary file that is
    deleted as soon as OpenSSL has read it, before this function returns, whatever happens.
    """
    fd, path = tempfile.mkstemp(prefix="gigachat-mtls-", suffix=".pem")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key_pem + certificate_pem)
        # Never None: with no password OpenSSL prompts for one on the terminal or reads it from fd 0, which in a
        # plugin is the daemon's request stream. An empty password just fails to decrypt an encrypted key.
        context.load_cert_chain(path, password=password or "")
    except ssl.SSLError:
        raise CredentialsError(
            "Client certificate: the certificate and private key do not load together "
            "(wrong key, wrong password, or not a matching pair)."
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
