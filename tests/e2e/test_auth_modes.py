"""Every way GigaChat authenticates, end to end through the packaged plugin against the emulator.

Credentials are sent as Dify sends them: only the fields the provider form shows for the chosen method (Dify drops
the fields a `show_on` rule hides before it validates and stores the form).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import trustme
import yaml
from cryptography.hazmat.primitives import serialization

from devkit import ROOT
from devkit.emulator import GigaChatEmulator, Reply, routes
from devkit.emulator.client import tls_contexts
from devkit.harness import PluginProcess
from devkit.harness import Reply as PluginReply
from devkit.harness import messages as m
from devkit.rig import PROVIDER, credentials_for

pytestmark = pytest.mark.e2e
FORM = yaml.safe_load((ROOT / "provider" / "gigachat.yaml").read_text(encoding="utf-8"))
FIELDS = FORM["provider_credential_schema"]["credential_form_schemas"]
KEY_PASSWORD = "key-password-4f1c"


def as_dify_sends(values: dict[str, str]) -> dict[str, str]:
    """Drop the fields whose show_on rules do not match, as Dify does before validating and storing the form."""
    shown = {
        f["variable"]
        for f in FIELDS
        if all(values.get(rule["variable"]) == rule["value"] for rule in f.get("show_on") or [])
    }
    return {name: value for name, value in values.items() if name in shown}


def form(emu: GigaChatEmulator, method: str, **fields: str) -> dict[str, str]:
    return as_dify_sends({**credentials_for(emu), "auth_method": method, **fields})


def validate(plugin: PluginProcess, creds: dict[str, str]) -> PluginReply:
    return plugin.request(m.validate_provider_credentials(PROVIDER, creds))


def chat(plugin: PluginProcess, creds: dict[str, str], text: str = "hi", stream: bool = True) -> PluginReply:
    return plugin.request(m.invoke_llm(PROVIDER, "GigaChat-2", creds, [m.user(text)], stream=stream))


def works(plugin: PluginProcess, emu: GigaChatEmulator, creds: dict[str, str]) -> None:
    """Validation, streamed and blocking chat, and embeddings all succeed with these credentials."""
    assert validate(plugin, creds).error is None
    emu.script(Reply(text="one"), Reply(text="two"))
    assert chat(plugin, creds).text == "one"
    assert chat(plugin, creds, stream=False).text == "two"
    embedded = plugin.request(m.invoke_embedding(PROVIDER, "Embeddings", creds, ["text"]))
    assert embedded.error is None


def bearer_tokens(emu: GigaChatEmulator) -> set[str]:
    """The Authorization headers of API calls (the token requests themselves aside)."""
    api = [r for r in emu.requests if r.path.startswith("/api/v1/") and r.path != "/api/v1/token"]
    return {r.headers["authorization"] for r in api if "authorization" in r.headers}


# ---- authorization key + scope ------------------------------------------------------------------------------------


def test_an_authorization_key_and_scope_get_one_oauth_token_for_every_call(plugin, emu):
    key = emu.add_account("key-mode-id", "key-mode-secret", "GIGACHAT_API_B2B")
    creds = form(emu, "authorization_key", api_key=key, scope="GIGACHAT_API_B2B", request_timeout="51")
    works(plugin, emu, creds)
    [oauth] = [r for r in emu.requests if r.path == routes.OAUTH_PATH]
    assert oauth.headers["authorization"] == f"Basic {key}"
    assert oauth.body == b"scope=GIGACHAT_API_B2B"
    assert len(bearer_tokens(emu)) == 1


def test_a_client_id_and_secret_are_encoded_into_the_authorization_key(plugin, emu):
    key = emu.add_account("pair-mode-id", "pair-mode-secret", "GIGACHAT_API_PERS")
    works(plugin, emu, form(emu, "authorization_key", api_key="pair-mode-id:pair-mode-secret"))
    [oauth] = [r for r in emu.requests if r.path == routes.OAUTH_PATH]
    assert oauth.headers["authorization"] == f"Basic {key}"
    assert base64.b64decode(key) == b"pair-mode-id:pair-mode-secret"


def test_a_key_for_another_scope_is_refused_naming_the_scope_field(plugin, emu):
    reply = validate(plugin, form(emu, "authorization_key", scope="GIGACHAT_API_CORP"))
    assert reply.error["error_type"] == "CredentialsValidateFailedError"
    assert "does not match scope GIGACHAT_API_CORP" in reply.error["message"]
    assert "'Scope'" in reply.error["message"]


# ---- username and password ----------------------------------------------------------------------------------------


@pytest.fixture(params=["milliseconds", "seconds"])
def token_exp_unit(request: pytest.FixtureRequest, emu: GigaChatEmulator) -> Iterator[str]:
    """The unit of `exp` in /token answers: the SDK assumes milliseconds, Sber documents seconds."""
    emu.token_exp_in_seconds = request.param == "seconds"
    yield request.param
    emu.token_exp_in_seconds = True


def test_a_username_and_password_get_one_token_from_the_token_endpoint(plugin, emu, token_exp_unit):
    user = f"alice-{token_exp_unit}"
    emu.add_user(user, "alice-password")
    creds = form(emu, "user_password", username=user, password="alice-password")
    assert "auth_url" not in creds and "api_key" not in creds
    works(plugin, emu, creds)
    assert chat(plugin, creds).error is None
    assert (emu.token_calls, emu.oauth_calls) == (1, 0)  # not once per call, whatever the unit of `exp`
    [token] = [r for r in emu.requests if r.path == "/api/v1/token"]
    assert token.headers["authorization"] == "Basic " + base64.b64encode(f"{user}:alice-password".encode()).decode()
    assert len(bearer_tokens(emu)) == 1


def test_a_wrong_password_is_refused_naming_the_token_endpoint_and_the_fields(plugin, emu):
    emu.add_user("bob", "right-password")
    reply = validate(plugin, form(emu, "user_password", username="bob", password="wrong-password"))
    assert reply.error["error_type"] == "CredentialsValidateFailedError"
    message = reply.error["message"]
    assert f"Authentication at {emu.host}/token failed (401" in message
    assert "'Username' and 'Password'" in message
    assert "wrong-password" not in str(reply.error)


# ---- pre-issued access token --------------------------------------------------------------------------------------


def test_a_pre_issued_access_token_is_sent_as_it_is_and_never_renewed(plugin, emu):
    token = emu.issue_access_token()
    works(plugin, emu, form(emu, "access_token", access_token=f"Bearer {token}"))
    assert bearer_tokens(emu) == {f"Bearer {token}"}
    assert (emu.oauth_calls, emu.token_calls) == (0, 0)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
def test_an_expired_access_token_is_an_authorization_error_that_says_what_to_do(plugin, emu, stream):
    creds = form(emu, "access_token", access_token=emu.issue_access_token(), request_timeout=f"{60 + stream}")
    assert chat(plugin, creds).error is None
    emu.expire_tokens()
    reply = chat(plugin, creds, stream=stream)
    assert reply.error["error_type"] == "InvokeAuthorizationError"
    for words in ("401: Token has expired", "never renews", "'Access token'"):
        assert words in reply.error["message"]
    assert (emu.oauth_calls, emu.token_calls) == (0, 0)


def test_an_expired_access_token_fails_validation_with_the_same_advice(plugin, emu):
    creds = form(emu, "access_token", access_token=emu.issue_access_token())
    emu.expire_tokens()
    reply = validate(plugin, creds)
    assert reply.error["error_type"] == "CredentialsValidateFailedError"
    assert "'Access token'" in reply.error["message"]


# ---- client certificate (mutual TLS) ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def client_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def mtls_emulator(server_ca: trustme.CA, client_ca: trustme.CA) -> Iterator[GigaChatEmulator]:
    server, _ = tls_contexts(server_ca)
    with GigaChatEmulator(ssl_context=server, client_ca_pem=client_ca.cert_pem.bytes()) as emulator:
        yield emulator


@pytest.fixture
def mtls(mtls_emulator: GigaChatEmulator) -> Iterator[GigaChatEmulator]:
    with mtls_emulator.cleared() as cleared:
        yield cleared


def encrypted(key_pem: bytes, legacy: bool = False) -> str:
    key = serialization.load_pem_private_key(key_pem, password=None)
    layout = serialization.PrivateFormat.TraditionalOpenSSL if legacy else serialization.PrivateFormat.PKCS8
    return key.private_bytes(
        serialization.Encoding.PEM, layout, serialization.BestAvailableEncryption(KEY_PASSWORD.encode())
    ).decode()


def mtls_form(emu: GigaChatEmulator, server_ca: trustme.CA, leaf: trustme.LeafCert, **fields: str) -> dict[str, str]:
    values = {
        "client_certificate": leaf.cert_chain_pems[0].bytes().decode(),
        "client_key": leaf.private_key_pem.bytes().decode(),
        "ca_certificate": server_ca.cert_pem.bytes().decode(),
    }
    return form(emu, "client_certificate", **(values | fields))


def one_line(text: str) -> str:
    return " ".join(text.splitlines())


@pytest.mark.parametrize(
    "variant", ["pem", "collapsed-newlines", "encrypted-pkcs8-key", "encrypted-legacy-key-collapsed"]
)
def test_a_client_certificate_and_key_authenticate_by_mutual_tls_alone(plugin, mtls, server_ca, client_ca, variant):
    leaf = client_ca.issue_cert(f"dify-{variant}@example.test")
    cert, key = leaf.cert_chain_pems[0].bytes().decode(), leaf.private_key_pem.bytes()
    fields = {
        "pem": {},
        "collapsed-newlines": {"client_certificate": one_line(cert), "client_key": one_line(key.decode())},
        "encrypted-pkcs8-key": {"client_key": encrypted(key), "client_key_password": KEY_PASSWORD},
        "encrypted-legacy-key-collapsed": {
            "client_key": one_line(encrypted(key, legacy=True)),
            "client_key_password": KEY_PASSWORD,
        },
    }[variant]
    works(plugin, mtls, mtls_form(mtls, server_ca, leaf, **fields))
    assert mtls.requests and all(r.client_cert for r in mtls.requests)
    assert bearer_tokens(mtls) == set()  # no Authorization header at all
    assert (mtls.oauth_calls, mtls.token_calls) == (0, 0)


def test_a_server_that_requires_a_client_certificate_says_so_when_none_is_given(plugin, mtls, server_ca):
    creds = form(
        mtls, "access_token", access_token="eyJ.some-token", ca_certificate=server_ca.cert_pem.bytes().decode()
    )
    reply = validate(plugin, creds)
    assert reply.error["error_type"] == "CredentialsValidateFailedError"
    assert f"{mtls.host} requires a client certificate (mutual TLS)" in reply.error["message"]
    assert "'Client certificate (mutual TLS)'" in reply.error["message"]


def test_a_client_certificate_from_an_unknown_ca_is_reported_as_not_accepted(plugin, mtls, server_ca):
    stranger = trustme.CA().issue_cert("stranger@example.test")
    reply = chat(plugin, mtls_form(mtls, server_ca, stranger))
    assert reply.error["error_type"] == "InvokeConnectionError"
    assert f"{mtls.host} did not accept the client certificate" in reply.error["message"]


def test_a_key_that_does_not_match_the_certificate_is_refused_on_validation(plugin, mtls, server_ca, client_ca):
    leaf, other = client_ca.issue_cert("a@example.test"), client_ca.issue_cert("b@example.test")
    reply = validate(plugin, mtls_form(mtls, server_ca, leaf, client_key=other.private_key_pem.bytes().decode()))
    assert reply.error["error_type"] == "CredentialsValidateFailedError"
    assert "the certificate and private key do not load together" in reply.error["message"]
    assert mtls.requests == []


# ---- the form ---------------------------------------------------------------------------------------------------

REQUIRED = [
    ("authorization_key", "api_key", "Authorization key", "Authorization key + scope (OAuth)"),
    ("user_password", "username", "Username", "Username and password"),
    ("user_password", "password", "Password", "Username and password"),
    ("access_token", "access_token", "Access token", "Pre-issued access token"),
    ("client_certificate", "client_certificate", "Client certificate", "Client certificate (mutual TLS)"),
    ("client_certificate", "client_key", "Client private key", "Client certificate (mutual TLS)"),
]


@pytest.mark.parametrize(("method", "field", "label", "option"), REQUIRED, ids=[f"{r[0]}-{r[1]}" for r in REQUIRED])
def test_a_missing_required_field_is_named_with_the_chosen_method(plugin, emu, method, field, label, option):
    values = {
        "username": "u",
        "password": "p",
        "access_token": "t",
        "client_certificate": "c",
        "client_key": "k",
    }
    reply = validate(plugin, {**form(emu, method, **values), field: ""})
    assert reply.error["error_type"] == "CredentialsValidateFailedError"
    assert reply.error["message"] == f"{label} is required when Authentication is '{option}'."
    assert emu.requests == []


def test_each_method_shows_its_own_fields_and_every_method_shares_the_connection_fields():
    by_method: dict[str, set[str]] = {}
    for field in FIELDS:
        for rule in field.get("show_on") or []:
            by_method.setdefault(rule["value"], set()).add(field["variable"])
    assert by_method == {
        "authorization_key": {"api_key", "scope", "auth_url"},
        "user_password": {"username", "password"},
        "access_token": {"access_token"},
        "client_certificate": {"client_certificate", "client_key", "client_key_password"},
    }
    options = {o["value"] for f in FIELDS if f["variable"] == "auth_method" for o in f["options"]}
    assert options == set(by_method)
    per_method = {name for names in by_method.values() for name in names}
    required_per_method = {f["variable"] for f in FIELDS if f["variable"] in per_method and f["required"]}
    assert required_per_method == per_method - {"auth_url", "client_key_password"}


def test_a_customizable_model_takes_the_same_authentication_fields():
    model_fields = [f["variable"] for f in FORM["model_credential_schema"]["credential_form_schemas"]]
    assert [f["variable"] for f in FIELDS] == model_fields[: len(FIELDS)]
