"""TLS through the packaged plugin, for real: the emulator serves HTTPS with a certificate from a test CA (trustme),
which, like GigaChat's Russian Trusted Root CA, is in no standard bundle."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator

import pytest
import trustme

from devkit.emulator import GigaChatEmulator, Reply
from devkit.emulator.client import tls_contexts
from devkit.harness import PluginProcess
from devkit.harness import Reply as PluginReply
from devkit.harness import messages as m
from devkit.rig import PROVIDER, credentials_for, install_plugin
from models.common.trust import BUNDLED_CA_FILES
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


# ---- either chain, no CA in the form --------------------------------------------------------------------------------
# Which chain GigaChat's new host presents is not known, so the plugin trusts the bundled Russian Trusted CAs and the
# public roots (certifi) together. No test can sign with either real root, so the plugin runs installed with its
# bundled Russian CA file replaced by a test CA (the Russian stand-in), and with a `certifi` first on its path whose
# bundle is another test CA (the public stand-in).

ROOTS = ("russian", "public", "unrelated")


@pytest.fixture(scope="module")
def stand_in_cas() -> dict[str, trustme.CA]:
    return {root: trustme.CA() for root in ROOTS}


@pytest.fixture(scope="module")
def stand_in_plugin(tmp_path_factory, stand_in_cas) -> Iterator[PluginProcess]:
    folder = tmp_path_factory.mktemp("stand-in-roots")
    plugin_dir = install_plugin(folder).dir
    (plugin_dir / "models/common/certs" / BUNDLED_CA_FILES[0]).write_text(pem(stand_in_cas["russian"]))
    shim = folder / "shim" / "certifi"
    shim.mkdir(parents=True)
    bundle = folder / "public-roots.pem"
    bundle.write_text(pem(stand_in_cas["public"]))
    shim.joinpath("__init__.py").write_text(
        f"def where():\n    return {str(bundle)!r}\n\n\ndef contents():\n    return open(where()).read()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(shim.parent)}
    with PluginProcess(plugin_dir, python=sys.executable, env=env) as process:
        process.wait_ready(60)
        yield process


@pytest.fixture(scope="module")
def served_by(stand_in_cas) -> Iterator[dict[str, GigaChatEmulator]]:
    """One HTTPS emulator per root, each with a server certificate issued by that root's stand-in."""
    with contextlib.ExitStack() as stack:
        yield {root: stack.enter_context(GigaChatEmulator(ssl_context=tls_contexts(ca)[0])) for root, ca in
               stand_in_cas.items()}  # fmt: skip


@pytest.mark.parametrize("root", ["russian", "public"])
def test_a_server_certificate_from_either_kind_of_root_is_trusted_with_verification_on(
    stand_in_plugin, served_by, root
):
    emulator = served_by[root]
    creds = credentials_for(emulator)
    assert creds["verify_ssl"] == "true" and "ca_certificate" not in creds
    assert validate(stand_in_plugin, creds).error is None
    assert chat(stand_in_plugin, creds).text == "Echo: hello over TLS"
    assert emulator.oauth_calls == 1  # the OAuth connection was verified against the same roots


def test_a_server_certificate_from_an_unrelated_root_is_still_refused(stand_in_plugin, served_by):
    unrelated = served_by["unrelated"]
    reply = validate(stand_in_plugin, credentials_for(unrelated))
    assert f"TLS: the certificate of {unrelated.host} is not trusted" in reply.error["message"]
    assert unrelated.requests == []
