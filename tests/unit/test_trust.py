"""models/common/trust.py: one SSLContext per settings, verification on by default, no key file left on disk."""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from models.common.settings import CredentialsError, GigaChatSettings, parse_credentials
from models.common.trust import BUNDLED_CA_FILES, CERTS_DIR, bundled_ca_pem, load_client_certificate, ssl_context_for

KEY = "Y2xpZW50LWlkOmNsaWVudC1zZWNyZXQ="  # base64("client-id:client-secret")
# SHA-256 over the DER of the Ministry's certificates as published at https://www.gosuslugi.ru/crt, checked against
# independent public copies.
BUNDLED_FINGERPRINTS = {
    "russian_trusted_root_ca.pem": "D26D2D0231B7C39F92CC738512BA54103519E4405D68B5BD703E9788CA8ECF31",
    "russian_trusted_sub_ca_2024.pem": "2155785036C900DBB5F1BB2A1569C80C55595BD6BF94867A29BBDDBC7D88A3F2",
    "russian_trusted_sub_ca_2022.pem": "BBBDE2103E790B999EC62BD03CF625A5A2E7C316E10AFE6A490EEDEAD8B3FD9B",
}
PASSWORD = "key-password-canary"


@pytest.fixture(scope="module")
def server_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("gigachat.test")


@pytest.fixture(scope="module")
def client_cert(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("client@example.test")


@pytest.fixture
def private_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A temporary directory that only load_client_certificate writes to."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def pem(blob: trustme.Blob) -> str:
    return blob.bytes().decode()


def encrypted_key(leaf: trustme.LeafCert) -> str:
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSWORD.encode()),
    ).decode()


def mtls_settings(leaf: trustme.LeafCert, key: str | None = None, password: str = "", **extra: str) -> GigaChatSettings:
    return parse_credentials(
        {
            "auth_method": "client_certificate",
            "client_certificate": pem(leaf.cert_chain_pems[0]),
            "client_key": key or pem(leaf.private_key_pem),
            "client_key_password": password,
            **extra,
        }
    )


def handshake(client: ssl.SSLContext, server: ssl.SSLContext, hostname: str = "gigachat.test") -> ssl.SSLObject:
    """A complete TLS handshake in memory (no sockets); returns the server's end."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client_end = client.wrap_bio(c_in, c_out, server_hostname=hostname)
    server_end = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(20):
        for name, end in (("client", client_end), ("server", server_end)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            return server_end
    raise AssertionError("the handshake did not finish")


def server_context(ca: trustme.CA, cert: trustme.LeafCert, require_client_cert: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    if require_client_cert:
        ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


# ---- the bundled CAs ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "fingerprint"), sorted(BUNDLED_FINGERPRINTS.items()))
def test_each_bundled_ca_file_holds_exactly_the_published_certificate(name: str, fingerprint: str) -> None:
    text = (CERTS_DIR / name).read_text(encoding="ascii")
    assert text.count("-----BEGIN CERTIFICATE-----") == 1
    assert hashlib.sha256(ssl.PEM_cert_to_DER_cert(text)).hexdigest().upper() == fingerprint


def test_every_bundled_ca_file_is_loaded_and_no_other() -> None:
    assert set(BUNDLED_CA_FILES) == set(BUNDLED_FINGERPRINTS) == {p.name for p in CERTS_DIR.glob("*.pem")}
    assert bundled_ca_pem().count("-----BEGIN CERTIFICATE-----") == 3


# ---- the context -------------------------------------------------------------------------------------------------


def test_the_default_context_verifies_and_trusts_the_russian_roots_as_well_as_the_standard_ones() -> None:
    context = ssl_context_for(parse_credentials({"api_key": KEY}))
    assert context is not None
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname is True
    names = [dict(field[0] for field in cert["subject"]).get("commonName") for cert in context.get_ca_certs()]
    assert {"Russian Trusted Root CA", "Russian Trusted Sub CA"} <= set(names)
    assert len(names) > 50  # certifi's roots are there too


def test_the_default_context_holds_exactly_the_pinned_bundled_certificates() -> None:
    context = ssl_context_for(parse_credentials({"api_key": KEY}))
    assert context is not None
    loaded = {hashlib.sha256(der).hexdigest().upper() for der in context.get_ca_certs(binary_form=True)}
    assert set(BUNDLED_FINGERPRINTS.values()) <= loaded


@pytest.mark.parametrize("verify", ["true", "false"])
def test_a_pasted_ca_certificate_is_never_written_to_disk(
    ca: trustme.CA, private_tmp: Path, monkeypatch: pytest.MonkeyPatch, verify: str
) -> None:
    def no_files(*args: object, **kwargs: object) -> None:
        raise AssertionError("a CA certificate was given to OpenSSL as a file")

    monkeypatch.setattr(tempfile, "mkstemp", no_files)
    monkeypatch.setattr(os, "memfd_create", no_files)
    context = ssl_context_for(
        parse_credentials({"api_key": KEY, "ca_certificate": pem(ca.cert_pem), "verify_ssl": verify})
    )
    assert (context is None) is (verify == "false")
    assert list(private_tmp.iterdir()) == []


def test_a_server_signed_by_an_unknown_ca_is_refused(ca: trustme.CA, server_cert: trustme.LeafCert) -> None:
    context = ssl_context_for(parse_credentials({"api_key": KEY}))
    assert context is not None
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(context, server_context(ca, server_cert))


def test_a_pasted_ca_certificate_makes_its_servers_trusted(ca: trustme.CA, server_cert: trustme.LeafCert) -> None:
    settings = parse_credentials({"api_key": KEY, "ca_certificate": " ".join(pem(ca.cert_pem).splitlines())})
    context = ssl_context_for(settings)
    assert context is not None
    handshake(context, server_context(ca, server_cert))


def test_the_host_name_is_still_checked_with_a_pasted_ca(ca: trustme.CA, server_cert: trustme.LeafCert) -> None:
    context = ssl_context_for(parse_credentials({"api_key": KEY, "ca_certificate": pem(ca.cert_pem)}))
    assert context is not None
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(context, server_context(ca, server_cert), hostname="other.test")


def test_turning_verification_off_gives_no_context() -> None:
    assert ssl_context_for(parse_credentials({"api_key": KEY, "verify_ssl": "false"})) is None


def test_a_ca_certificate_that_openssl_cannot_read_is_reported_on_its_field(client_cert: trustme.LeafCert) -> None:
    # A private key's DER under a CERTIFICATE label passes the PEM checks (it is an ASN.1 SEQUENCE) but is no X.509.
    der_of_key = "".join(pem(client_cert.private_key_pem).splitlines()[1:-1])
    fake = f"-----BEGIN CERTIFICATE-----\n{der_of_key}\n-----END CERTIFICATE-----\n"
    settings = parse_credentials({"api_key": KEY, "ca_certificate": fake})
    with pytest.raises(CredentialsError, match=r"^CA certificate: OpenSSL could not read it"):
        ssl_context_for(settings)


# ---- mutual TLS --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("verify", ["true", "false"])
def test_a_client_certificate_is_presented_to_the_server(
    ca: trustme.CA, server_cert: trustme.LeafCert, client_cert: trustme.LeafCert, private_tmp: Path, verify: str
) -> None:
    settings = mtls_settings(client_cert, ca_certificate=pem(ca.cert_pem), verify_ssl=verify)
    context = ssl_context_for(settings)
    assert context is not None
    assert context.verify_mode is (ssl.CERT_REQUIRED if verify == "true" else ssl.CERT_NONE)
    server_end = handshake(context, server_context(ca, server_cert, require_client_cert=True))
    assert server_end.getpeercert() is not None
    assert list(private_tmp.iterdir()) == []


def test_an_encrypted_client_key_loads_with_its_password(
    ca: trustme.CA, server_cert: trustme.LeafCert, client_cert: trustme.LeafCert, private_tmp: Path
) -> None:
    settings = mtls_settings(client_cert, key=encrypted_key(client_cert), password=PASSWORD)
    assert settings.client_key is not None and "ENCRYPTED PRIVATE KEY" in settings.client_key
    context = ssl_context_for(settings)
    assert context is not None
    assert list(private_tmp.iterdir()) == []


def record_key_paths(context: ssl.SSLContext) -> list[tuple[Path, int, str]]:
    """Make `context.load_cert_chain` note (path, mode, text) of what OpenSSL is given."""
    seen: list[tuple[Path, int, str]] = []
    original = context.load_cert_chain

    def recording(certfile: str, keyfile: str | None = None, password: object = None) -> None:
        path = Path(certfile)
        seen.append((path, path.stat().st_mode & 0o777, path.read_text(encoding="ascii")))
        original(certfile, keyfile, password)

    context.load_cert_chain = recording  # type: ignore[method-assign]
    return seen


def test_the_client_key_goes_to_openssl_through_an_anonymous_in_memory_file(
    client_cert: trustme.LeafCert, private_tmp: Path
) -> None:
    context = ssl.create_default_context()
    seen = record_key_paths(context)
    key = pem(client_cert.private_key_pem)
    load_client_certificate(context, pem(client_cert.cert_chain_pems[0]), key, None)
    [(path, _, text)] = seen
    assert path.parent == Path("/proc/self/fd")
    assert key in text
    assert not path.exists()  # closed before load_client_certificate returned
    assert list(private_tmp.iterdir()) == []


def test_without_memfd_the_key_file_is_private_and_exists_only_while_openssl_reads_it(
    client_cert: trustme.LeafCert, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "memfd_create")
    context = ssl.create_default_context()
    seen = record_key_paths(context)
    load_client_certificate(context, pem(client_cert.cert_chain_pems[0]), pem(client_cert.private_key_pem), None)
    [(path, mode, _)] = seen
    assert path.parent == private_tmp
    assert mode == 0o600
    assert not path.exists()


def test_a_legacy_encrypted_key_collapsed_onto_one_line_loads_with_its_password(
    ca: trustme.CA, server_cert: trustme.LeafCert, client_cert: trustme.LeafCert, private_tmp: Path
) -> None:
    key = serialization.load_pem_private_key(client_cert.private_key_pem.bytes(), password=None)
    legacy = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(PASSWORD.encode()),
    ).decode()
    assert "Proc-Type: 4,ENCRYPTED" in legacy
    collapsed = " ".join(legacy.splitlines())
    settings = mtls_settings(client_cert, key=collapsed, password=PASSWORD, ca_certificate=pem(ca.cert_pem))
    context = ssl_context_for(settings)
    assert context is not None
    assert handshake(context, server_context(ca, server_cert, require_client_cert=True)).getpeercert() is not None


@pytest.mark.parametrize(
    ("key", "password"),
    [
        pytest.param("other", "", id="the-key-of-another-certificate"),
        pytest.param("encrypted", "wrong-password", id="a-wrong-password"),
        pytest.param("encrypted", "", id="no-password-for-an-encrypted-key"),
    ],
)
def test_a_certificate_and_key_that_do_not_load_together_leave_no_file_and_no_secret(
    ca: trustme.CA, client_cert: trustme.LeafCert, private_tmp: Path, key: str, password: str
) -> None:
    key_pem = pem(ca.issue_cert("someone-else.test").private_key_pem) if key == "other" else encrypted_key(client_cert)
    settings = mtls_settings(client_cert, key=key_pem, password=password)
    with pytest.raises(CredentialsError) as caught:
        ssl_context_for(settings)
    assert str(caught.value).startswith("Client certificate: the certificate and private key do not load together")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert list(private_tmp.iterdir()) == []


def test_an_encrypted_key_without_a_password_never_reads_the_processs_stdin(client_cert: trustme.LeafCert) -> None:
    """OpenSSL's default pass-phrase prompt reads fd 0, which in a plugin is the daemon's request stream."""
    read_end, write_end = os.pipe()
    os.write(write_end, PASSWORD.encode() + b"\n")
    os.close(write_end)
    saved = os.dup(0)
    try:
        os.dup2(read_end, 0)
        with pytest.raises(CredentialsError):
            load_client_certificate(
                ssl.create_default_context(), pem(client_cert.cert_chain_pems[0]), encrypted_key(client_cert), None
            )
        os.set_blocking(0, False)
        assert os.read(0, 100) == PASSWORD.encode() + b"\n"
    finally:
        os.dup2(saved, 0)
        os.close(saved)
        os.close(read_end)
