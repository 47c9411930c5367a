"""models/common/settings.py: PEM certificates and keys pasted into Dify's form, whatever Dify did to their newlines."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from models.common.settings import (
    CredentialsError,
    normalize_pem_certificates,
    normalize_pem_private_key,
    parse_credentials,
)
from tests.unit.conftest import collapsed

CERTS = Path(__file__).resolve().parents[2] / "models" / "common" / "certs"
KEY = base64.b64encode(b"0191c7d2-aaaa-bbbb-cccc-1234567890ab:canary-secret-5f1e9d0c-7b2a").decode()


# ---- PEM certificates --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in CERTS.glob("*.pem")))
def test_the_bundled_ca_files_are_already_in_normal_form(name: str) -> None:
    text = (CERTS / name).read_text(encoding="ascii")
    assert normalize_pem_certificates(text, "CA certificate") == text


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda pem: collapsed(pem, " "), id="newlines-collapsed-to-spaces"),
        pytest.param(lambda pem: collapsed(pem, ""), id="newlines-removed"),
        pytest.param(lambda pem: pem.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda pem: f"  subject=CN=x\n{pem}\n  trailing words  ", id="text-around-the-block"),
    ],
)
def test_a_certificate_is_accepted_however_its_newlines_were_mangled(ca: trustme.CA, mangle) -> None:
    pem = ca.cert_pem.bytes().decode()
    normalized = normalize_pem_certificates(mangle(pem), "CA certificate")
    assert normalized is not None
    assert ssl.PEM_cert_to_DER_cert(normalized) == ssl.PEM_cert_to_DER_cert(pem)
    assert all(len(line) <= 64 for line in normalized.splitlines())


def test_several_certificates_collapsed_onto_one_line_are_all_kept_in_order(ca: trustme.CA) -> None:
    other = trustme.CA()
    pems = [ca.cert_pem.bytes().decode(), other.cert_pem.bytes().decode()]
    normalized = normalize_pem_certificates(collapsed("".join(pems)), "CA certificate")
    assert normalized is not None
    assert normalized.count("-----BEGIN CERTIFICATE-----") == 2
    blocks = normalized.split("-----END CERTIFICATE-----\n")[:2]
    assert [ssl.PEM_cert_to_DER_cert(b + "-----END CERTIFICATE-----\n") for b in blocks] == [
        ssl.PEM_cert_to_DER_cert(p) for p in pems
    ]


@pytest.mark.parametrize("value", [None, ""])
def test_an_empty_certificate_field_means_none(value: str | None) -> None:
    assert normalize_pem_certificates(value, "CA certificate") is None


def test_text_without_a_pem_block_is_rejected_naming_the_field() -> None:
    with pytest.raises(CredentialsError, match=r"^CA certificate: no '-----BEGIN CERTIFICATE-----' block found"):
        normalize_pem_certificates("MIIBszCCAVmgAwIBAgIU", "CA certificate")


def test_a_private_key_in_a_certificate_field_is_named_with_its_block_number(
    ca: trustme.CA, leaf: trustme.LeafCert
) -> None:
    text = ca.cert_pem.bytes().decode() + leaf.private_key_pem.bytes().decode()
    with pytest.raises(CredentialsError) as caught:
        normalize_pem_certificates(text, "CA certificate")
    assert str(caught.value) == "CA certificate: block 2 is a 'EC PRIVATE KEY', not a CERTIFICATE."
    assert leaf.private_key_pem.bytes().decode().splitlines()[1] not in str(caught.value)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("not*base64!", "block 1 is not valid base64"),
        ("QUJD", "block 1 does not contain DER data"),  # "ABC": base64, but not ASN.1
    ],
)
def test_a_certificate_block_with_a_broken_body_is_rejected_precisely(body: str, words: str) -> None:
    text = f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
    with pytest.raises(CredentialsError, match=f"^Client certificate: {words}"):
        normalize_pem_certificates(text, "Client certificate")


def test_a_ca_certificate_is_normalized_through_the_form(ca: trustme.CA) -> None:
    pem = ca.cert_pem.bytes().decode()
    settings = parse_credentials({"api_key": KEY, "ca_certificate": collapsed(pem)})
    assert settings.ca_certificate is not None
    assert ssl.PEM_cert_to_DER_cert(settings.ca_certificate) == ssl.PEM_cert_to_DER_cert(pem)


# ---- client certificate and key ----------------------------------------------------------------------------------


def test_a_client_certificate_and_key_collapsed_onto_one_line_are_accepted(leaf: trustme.LeafCert) -> None:
    certificate = leaf.cert_chain_pems[0].bytes().decode()
    key = leaf.private_key_pem.bytes().decode()
    settings = parse_credentials(
        {
            "auth_method": "client_certificate",
            "client_certificate": collapsed(certificate),
            "client_key": collapsed(key),
            "client_key_password": "",
        }
    )
    assert settings.client_certificate == certificate
    assert settings.client_key == key
    assert settings.client_key_password is None
    assert key in settings.secrets()


def test_a_key_pasted_together_with_its_certificate_keeps_only_the_key(leaf: trustme.LeafCert) -> None:
    key = leaf.private_key_pem.bytes().decode()
    assert normalize_pem_private_key(leaf.cert_chain_pems[0].bytes().decode() + key) == key


@pytest.mark.parametrize("count", [0, 2])
def test_the_client_key_field_must_hold_exactly_one_private_key(leaf: trustme.LeafCert, count: int) -> None:
    text = leaf.cert_chain_pems[0].bytes().decode() + leaf.private_key_pem.bytes().decode() * count
    with pytest.raises(CredentialsError, match=r"^Client private key: expected exactly one"):
        normalize_pem_private_key(text)


def test_a_legacy_encrypted_key_keeps_its_encryption_headers(leaf: trustme.LeafCert) -> None:
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    legacy = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(b"pass-phrase"),
    ).decode()
    assert normalize_pem_private_key(collapsed(legacy)) == legacy


def test_pem_with_escaped_newlines_is_accepted(ca: trustme.CA, leaf: trustme.LeafCert) -> None:
    certificate, key = ca.cert_pem.bytes().decode(), leaf.private_key_pem.bytes().decode()
    assert normalize_pem_certificates(certificate.replace("\n", "\\n"), "CA certificate") == certificate
    assert normalize_pem_private_key(key.replace("\n", "\\r\\n")) == key
