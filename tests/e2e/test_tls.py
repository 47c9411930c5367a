"""TLS through the packaged plugin, for real: the emulator serves HTTPS with a certificate from a test CA (trustme),
which, like GigaChat's Russian Trusted Root CA, is in no standard bundle."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import trustme

from devkit.emulator import GigaChatEmulator, Reply
from devkit.emulator.client import tls_contexts
from devkit.harness import PluginProcess
from devkit.harness import Reply as PluginReply
from devkit.harness import messages as m
from devkit.rig import PROVIDER, credentials_for
from tests.tables import table

pytestmark = pytest.mark.e2e
TLS_OPTIONS = ("'CA certificate'", "'Verify TLS certificates'", "Russian Trusted Root CA is already built in")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def https_emulator(ca: trustme.CA) -> Iterator[GigaChatEmulator]:
    server, _ = tls_contexts(ca)
    with GigaChatEmulator(ssl_context=server) as emulator:
        yield emulator


@pytest.fixture
def https(https_emulator: GigaChatEmulator) -> Iterator[GigaChatEmulator]:
    with https_emulator.cleared() as cleared:
        yield cleared


def pem(ca: trustme.CA) -> str:
    return ca.cert_pem.bytes().decode()


def validate(plugin: PluginProcess, creds: dict[str, str]) -> PluginReply:
    return plugin.request(m.validate_provider_credentials(PROVIDER, creds))


def chat(plugin: PluginProcess, creds: dict[str, str], stream: bool = True) -> PluginReply:
    return plugin.request(m.invoke_llm(PROVIDER, "GigaChat-2", creds, [m.user("hello over TLS")], stream=stream))


# ---- trusted --------------------------------------------------------------------------------------------------------

CA_FIELD: list[tuple[str, Callable[[trustme.CA], str]]] = [
    ("as-pem", pem),
    ("with-newlines-collapsed-into-spaces", lambda ca: " ".join(pem(ca).splitlines())),
    ("with-newlines-removed", lambda ca: "".join(pem(ca).splitlines())),
    ("after-another-certificate", lambda ca: pem(trustme.CA()) + pem(ca)),
    ("before-another-certificate-on-one-line", lambda ca: " ".join((pem(ca) + pem(trustme.CA())).splitlines())),
    ("with-escaped-newlines", lambda ca: pem(ca).replace("\n", "\\n")),
]


@pytest.mark.parametrize(
    ("number", "ca_field"), list(enumerate(form for _, form in CA_FIELD)), ids=[name for name, _ in CA_FIELD]
)
def test_a_ca_given_in_the_form_makes_both_gigachat_hosts_trusted(plugin, https, ca, number, ca_field):
    # Equal certificates normalize to equal settings, which share one client: a distinct timeout gives each its own.
    creds = credentials_for(https, ca_certificate=ca_field(ca), request_timeout=str(40 + number))
    assert validate(plugin, creds).error is None
    https.script(Reply(text="trusted"), Reply(text="trusted"))
    for stream in (True, False):
        reply = chat(plugin, creds, stream)
        assert reply.error is None
        assert reply.text == "trusted"
    embedded = plugin.request(m.invoke_embedding(PROVIDER, "Embeddings", creds, ["over TLS"]))
    assert embedded.error is None
    assert https.oauth_calls == 1  # the OAuth host was reached over TLS too
    assert {r.path for r in https.requests} >= {"/api/v2/oauth", "/api/v1/models", "/api/v1/chat/completions"}


def test_with_verification_off_an_untrusted_server_is_used(plugin, https):
    creds = credentials_for(https, verify_ssl="false")
    assert validate(plugin, creds).error is None
    reply = chat(plugin, creds)
    assert reply.error is None
    assert reply.text == "Echo: hello over TLS"


# ---- untrusted --------------------------------------------------------------------------------------------------


@pytest.fixture
def hosts(emu: GigaChatEmulator, https: GigaChatEmulator) -> dict[str, dict[str, str]]:
    """Credentials per untrusted host: both on HTTPS, or only one of them (the other on the plain emulator)."""
    return {
        "both": credentials_for(https),
        "oauth": credentials_for(https, base_url=emu.base_url),
        "api": credentials_for(emu, base_url=https.base_url),
    }


@pytest.mark.parametrize("untrusted", ["both", "oauth", "api"])
def test_without_the_ca_validation_fails_naming_the_untrusted_host_and_the_options(plugin, https, hosts, untrusted):
    reply = validate(plugin, hosts[untrusted])
    assert reply.error["error_type"] == "CredentialsValidateFailedError"
    message = reply.error["message"]
    assert f"TLS: the certificate of {https.host} is not trusted" in message
    for option in TLS_OPTIONS:
        assert option in message


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
@pytest.mark.parametrize("untrusted", ["oauth", "api"])
def test_without_the_ca_a_chat_fails_with_a_connection_error_naming_the_host(plugin, https, hosts, untrusted, stream):
    reply = chat(plugin, hosts[untrusted], stream)
    assert reply.error["error_type"] == "InvokeConnectionError"
    assert f"TLS: the certificate of {https.host} is not trusted" in reply.error["message"]
    assert "'CA certificate'" in reply.error["message"]
    assert "Traceback" not in reply.error["message"]
    assert https.chat_requests == []


@pytest.mark.parametrize("unclear", ["enabled", "y", "да", "ture"])
def test_a_verification_switch_that_is_neither_on_nor_off_keeps_verifying(plugin, https, unclear):
    reply = chat(plugin, credentials_for(https, verify_ssl=unclear))
    assert reply.error["error_type"] == "InvokeConnectionError"
    assert f"TLS: the certificate of {https.host} is not trusted" in reply.error["message"]
    assert https.chat_requests == []


def test_a_ca_that_does_not_sign_the_servers_certificate_does_not_make_it_trusted(plugin, https):
    reply = validate(plugin, credentials_for(https, ca_certificate=pem(trustme.CA())))
    assert reply.error["error_type"] == "CredentialsValidateFailedError"
    assert f"the certificate of {https.host} is not trusted" in reply.error["message"]


def test_a_certificate_for_another_host_name_is_refused_with_its_own_message(plugin, https, ca):
    port = https.host.rsplit(":", 1)[1]
    creds = credentials_for(https, ca_certificate=pem(ca), verify_ssl="true")
    creds |= {"base_url": f"https://localhost:{port}/api/v1", "auth_url": f"https://localhost:{port}/api/v2/oauth"}
    reply = validate(plugin, creds)
    assert reply.error["error_type"] == "CredentialsValidateFailedError"
    assert f"the certificate of localhost:{port} was issued for another host name" in reply.error["message"]


# ---- the CA field is validated before anything is sent ----------------------------------------------------------


def key_der_as_certificate(ca: trustme.CA) -> str:
    body = "".join(ca.issue_cert("x.test").private_key_pem.bytes().decode().splitlines()[1:-1])
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


GARBAGE = [
    ("words", lambda ca: "please trust my proxy", "CA certificate: no '-----BEGIN CERTIFICATE-----' block found"),
    ("base64-without-armor", lambda ca: "".join(pem(ca).splitlines()[1:-1]), "no '-----BEGIN CERTIFICATE-----'"),
    ("broken-base64", lambda ca: pem(ca).replace("M", "*", 3), "CA certificate: block 1 is not valid base64"),
    ("not-asn1", lambda ca: "-----BEGIN CERTIFICATE-----QUJD-----END CERTIFICATE-----", "block 1 does not contain DER"),
    ("a-private-key", lambda ca: pem(ca) + ca.issue_cert("k.test").private_key_pem.bytes().decode(), "block 2 is a"),
    ("a-key-labelled-certificate", key_der_as_certificate, "CA certificate: OpenSSL could not read it"),
]


@pytest.mark.parametrize(("garbage", "expected"), **table(*GARBAGE))
def test_a_ca_field_that_holds_no_usable_certificate_gets_a_precise_validation_error(
    plugin, https, ca, garbage, expected
):
    reply = validate(plugin, credentials_for(https, ca_certificate=garbage(ca)))
    assert reply.error["error_type"] == "CredentialsValidateFailedError"
    assert expected in reply.error["message"]
    assert https.requests == []
