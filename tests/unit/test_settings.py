"""models/common/settings.py: Dify's credential form -> one validated GigaChatSettings, with messages safe to show."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pydantic
import pytest
import trustme
import yaml

from models.common.settings import (
    DEFAULT_AUTH_URL,
    DEFAULT_BASE_URL,
    DEFAULT_TIMEOUT_SECONDS,
    LEGACY_BASE_URL,
    AuthMethod,
    CredentialsError,
    ProtocolChoice,
    normalize_authorization_key,
    parse_credentials,
    protocol_choice,
)

CERTS = Path(__file__).resolve().parents[2] / "models" / "common" / "certs"
CLIENT_ID = "0191c7d2-aaaa-bbbb-cccc-1234567890ab"
CLIENT_SECRET = "canary-secret-5f1e9d0c-7b2a"
PAIR = f"{CLIENT_ID}:{CLIENT_SECRET}"
KEY = base64.b64encode(PAIR.encode()).decode()


# ---- authorization key --------------------------------------------------------------------------------------------


def test_a_base64_authorization_key_is_kept_as_it_is() -> None:
    assert normalize_authorization_key(KEY) == KEY


def test_a_raw_client_id_and_secret_pair_is_encoded_as_the_authorization_key() -> None:
    assert normalize_authorization_key(PAIR) == KEY


@pytest.mark.parametrize(
    "value",
    ["not a key", "Basic " + KEY, "just-one-part", ":secret-only", "id-only:", "Y2FuYXJ5LXZhbHVl", "id: secret"],
)
def test_an_authorization_key_that_is_neither_form_is_rejected_without_repeating_it(value: str) -> None:
    with pytest.raises(CredentialsError) as caught:
        normalize_authorization_key(value)
    message = str(caught.value)
    assert message.startswith("Authorization key:")
    assert value not in message


@pytest.mark.parametrize("value", [None, ""])
def test_a_missing_authorization_key_is_reported_as_required(value: str | None) -> None:
    with pytest.raises(CredentialsError, match="Authorization key is required"):
        normalize_authorization_key(value)


# ---- the whole form ----------------------------------------------------------------------------------------------


def test_an_authorization_key_alone_gives_the_documented_defaults() -> None:
    settings = parse_credentials({"api_key": f"  {KEY}\n"})
    assert settings.auth_method is AuthMethod.AUTHORIZATION_KEY
    assert settings.authorization_key == KEY
    assert settings.scope == "GIGACHAT_API_PERS"
    assert (settings.base_url, settings.auth_url) == (DEFAULT_BASE_URL, DEFAULT_AUTH_URL)
    assert settings.verify_ssl is True
    assert settings.prompt_caching is True
    assert settings.timeout == DEFAULT_TIMEOUT_SECONDS
    assert settings.ca_certificate is None
    assert settings.api_host == "api.giga.chat"
    assert settings.auth_host == "ngw.devices.sberbank.ru:9443"


def test_settings_are_frozen() -> None:
    settings = parse_credentials({"api_key": KEY})
    with pytest.raises(pydantic.ValidationError):
        settings.verify_ssl = False  # type: ignore[misc]


def test_the_secrets_include_the_key_and_the_client_secret_it_encodes() -> None:
    secrets = parse_credentials({"api_key": KEY}).secrets()
    assert KEY in secrets
    assert CLIENT_SECRET in secrets
    assert "GIGACHAT_API_PERS" not in secrets


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"auth_method": "user_password", "username": "alice", "password": "p4ssw0rd!"}, ("alice", "p4ssw0rd!")),
        ({"auth_method": "access_token", "access_token": "eyJ.token"}, "eyJ.token"),
    ],
)
def test_each_authentication_method_keeps_only_its_own_fields(form: dict, expected: object) -> None:
    settings = parse_credentials({**form, "api_key": KEY})
    assert settings.authorization_key is None
    if settings.auth_method is AuthMethod.USER_PASSWORD:
        assert (settings.username, settings.password) == expected
        assert settings.access_token is None
    else:
        assert settings.access_token == expected
        assert settings.username is None


@pytest.mark.parametrize(
    ("form", "field", "method"),
    [
        ({}, "Authorization key", "Authorization key + scope (OAuth)"),
        ({"auth_method": "user_password", "username": "alice"}, "Password", "Username and password"),
        ({"auth_method": "user_password", "password": "secret-pass"}, "Username", "Username and password"),
        ({"auth_method": "access_token", "access_token": "   "}, "Access token", "Pre-issued access token"),
        ({"auth_method": "client_certificate"}, "Client certificate", "Client certificate (mutual TLS)"),
    ],
)
def test_a_missing_field_of_the_chosen_method_is_named_with_the_method(form: dict, field: str, method: str) -> None:
    with pytest.raises(
        CredentialsError, match=f"^{re.escape(f'{field} is required when Authentication is')} '{re.escape(method)}'"
    ):
        parse_credentials(form)


def test_an_unknown_authentication_method_lists_the_choices() -> None:
    with pytest.raises(CredentialsError, match="authorization_key, user_password, access_token, client_certificate"):
        parse_credentials({"auth_method": "kerberos", "api_key": KEY})


@pytest.mark.parametrize(("value", "expected"), [(None, "GIGACHAT_API_PERS"), ("gigachat_api_b2b", "GIGACHAT_API_B2B")])
def test_the_scope_defaults_to_pers_and_is_case_insensitive(value: str | None, expected: str) -> None:
    assert parse_credentials({"api_key": KEY, "scope": value}).scope == expected


def test_an_unknown_scope_is_rejected() -> None:
    with pytest.raises(CredentialsError, match=r"^Scope: must be one of"):
        parse_credentials({"api_key": KEY, "scope": "GIGACHAT_API_FREE"})


def test_a_trailing_slash_is_removed_from_the_urls() -> None:
    settings = parse_credentials({"api_key": KEY, "base_url": "https://api.giga.chat/v1/", "auth_url": "http://a:8/t/"})
    assert (settings.base_url, settings.auth_url) == ("https://api.giga.chat/v1", "http://a:8/t")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://gigachat.example/api", "expected an http(s) URL"),
        ("gigachat.example/api", "expected an http(s) URL"),
        ("https:///api/v1", "expected an http(s) URL"),
        ("https://giga chat.example", "expected an http(s) URL"),
        ("https://host.example:99999/api", "the port is not a number"),
        ("https://host.example:port/api", "the port is not a number"),
    ],
)
def test_an_unusable_base_url_is_rejected_naming_the_field(url: str, words: str) -> None:
    with pytest.raises(CredentialsError, match="^" + re.escape(f"API base URL: {words}")):
        parse_credentials({"api_key": KEY, "base_url": url})


# ---- hosts: the new one by default, the earlier one for user+password --------------------------------------------

USER = {"auth_method": "user_password", "username": "alice", "password": "pw-canary-1"}


@pytest.mark.parametrize(
    ("form", "base_url"),
    [
        pytest.param({"api_key": KEY}, DEFAULT_BASE_URL, id="a-key-gets-the-new-host"),
        pytest.param(USER, LEGACY_BASE_URL, id="user-and-password-get-the-host-with-a-token-endpoint"),
        pytest.param(
            {"api_key": KEY, "base_url": LEGACY_BASE_URL}, LEGACY_BASE_URL, id="a-key-saved-with-the-old-host"
        ),
        pytest.param({**USER, "base_url": LEGACY_BASE_URL}, LEGACY_BASE_URL, id="user-and-password-saved-with-it"),
    ],
)
def test_an_empty_base_url_means_the_host_that_serves_the_sign_in_method(form: dict, base_url: str) -> None:
    assert DEFAULT_BASE_URL == "https://api.giga.chat/v1"
    assert parse_credentials(form).base_url == base_url


@pytest.mark.parametrize("url", ["https://api.giga.chat/v1", "https://API.giga.chat/v1/", "https://api.giga.chat"])
def test_user_and_password_with_the_new_host_are_refused_naming_the_host_to_use(url: str) -> None:
    with pytest.raises(CredentialsError) as caught:
        parse_credentials({**USER, "base_url": url})
    message = str(caught.value)
    assert message.startswith("API base URL: api.giga.chat has no sign-in by user name and password (no /token")
    assert LEGACY_BASE_URL in message and "'Authorization key + scope (OAuth)'" in message
    assert "pw-canary-1" not in message


@pytest.mark.parametrize(("value", "expected"), [(None, "auto"), ("", "auto"), ("v1", "v1"), (" v2 ", "v2")])
def test_the_chat_protocol_of_a_model_defaults_to_auto(value: str | None, expected: str) -> None:
    assert protocol_choice({"chat_protocol": value}) == ProtocolChoice(expected)


def test_an_unknown_chat_protocol_lists_the_choices() -> None:
    with pytest.raises(CredentialsError, match=r"^Chat protocol: must be one of auto, v1, v2\.$"):
        protocol_choice({"chat_protocol": "v3"})


def test_a_url_with_a_password_is_rejected_without_repeating_the_password() -> None:
    with pytest.raises(CredentialsError) as caught:
        parse_credentials({"api_key": KEY, "auth_url": "https://user:hunter2-canary@ngw.example/api/v2/oauth"})
    assert str(caught.value).startswith("OAuth URL: must not contain a user name or password")
    assert "hunter2-canary" not in str(caught.value)


@pytest.mark.parametrize("url", ["https://gw.example/api/v1?key=canary-77", "https://gw.example/api/v1#canary-77"])
def test_a_url_with_a_query_or_fragment_is_rejected_so_no_url_carries_a_secret(url: str) -> None:
    """Dify stores URL fields as plain text (only secret-input fields are encrypted): a URL must not be a place for
    a key, and GigaChat's URLs take none."""
    with pytest.raises(CredentialsError) as caught:
        parse_credentials({"api_key": KEY, "base_url": url})
    assert str(caught.value).startswith("API base URL: must not contain a query (?…) or a fragment (#…)")
    assert "canary-77" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, True), ("true", True), ("True", True), ("1", True), ("on", True), ("false", False), ("0", False),
        ("off", False), ("no", False), ("enabled", True), ("y", True), ("да", True), ("flase", True), ("nein", True),
    ],
)  # fmt: skip
def test_the_tls_verification_switch_reads_dify_booleans_and_anything_unclear_means_verify(
    value: str | None, expected: bool
) -> None:
    assert parse_credentials({"api_key": KEY, "verify_ssl": value}).verify_ssl is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("api:5001", ("api:5001",)),
        (" API:5001, files.example.com  [::1]:8080,api:5001 ", ("api:5001", "files.example.com", "[::1]:8080")),
    ],
)
def test_file_hosts_are_a_list_of_hosts_with_optional_ports(value: str | None, expected: tuple) -> None:
    assert parse_credentials({"api_key": KEY, "file_hosts": value}).file_hosts == expected


@pytest.mark.parametrize("value", ["http://api:5001", "api:port", "user@api", "api/files"])
def test_a_file_host_that_is_not_a_host_is_refused_naming_it(value: str) -> None:
    with pytest.raises(CredentialsError, match=f"File hosts: '{value}' is not a host name"):
        parse_credentials({"api_key": KEY, "file_hosts": value})


def test_the_secrets_include_the_basic_string_of_user_and_password() -> None:
    settings = parse_credentials({"auth_method": "user_password", "username": "bob", "password": "pw"})
    assert base64.b64encode(b"bob:pw").decode() in settings.secrets()


@pytest.mark.parametrize(("value", "expected"), [(None, 300.0), ("60", 60.0), (" 1 ", 1.0), (600, 600.0)])
def test_the_request_timeout_accepts_seconds_from_1_to_600(value: object, expected: float) -> None:
    assert parse_credentials({"api_key": KEY, "request_timeout": value}).timeout == expected


@pytest.mark.parametrize(("value", "words"), [("abc", "must be a number"), ("0", "between 1 and 600"), ("601", "600")])
def test_an_unusable_request_timeout_is_rejected(value: str, words: str) -> None:
    with pytest.raises(CredentialsError, match=f"^Request timeout: .*{words}"):
        parse_credentials({"api_key": KEY, "request_timeout": value})


# ---- access token and user name ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["eyJ.token-1", "Bearer eyJ.token-1", "  bearer   eyJ.token-1 "])
def test_an_access_token_is_kept_without_a_pasted_bearer_prefix(value: str) -> None:
    assert parse_credentials({"auth_method": "access_token", "access_token": value}).access_token == "eyJ.token-1"


@pytest.mark.parametrize("value", ["eyJ token-canary", "eyJ.токен-canary", "eyJ\x00canary"])
def test_an_access_token_that_cannot_be_a_header_is_rejected_without_repeating_it(value: str) -> None:
    with pytest.raises(CredentialsError, match=r"^Access token: expected the token itself") as caught:
        parse_credentials({"auth_method": "access_token", "access_token": value})
    assert "canary" not in str(caught.value)


def test_a_user_name_with_a_colon_is_rejected() -> None:
    with pytest.raises(CredentialsError, match=r"^Username: must not contain ':'"):
        parse_credentials({"auth_method": "user_password", "username": "dom:alice", "password": "p"})


# ---- the provider form and the parser agree ----------------------------------------------------------------------

FORM = yaml.safe_load((Path(__file__).resolve().parents[2] / "provider" / "gigachat.yaml").read_text(encoding="utf-8"))
FIELDS = {f["variable"]: f for f in FORM["provider_credential_schema"]["credential_form_schemas"]}
# Per method: the fields Dify shows (and sends) only for it, and what the parser reads from them.
METHOD_FIELDS = [
    pytest.param(
        AuthMethod.AUTHORIZATION_KEY, {"api_key": KEY, "scope": "GIGACHAT_API_B2B", "auth_url": "https://o.test/t"},
        {"authorization_key": KEY, "scope": "GIGACHAT_API_B2B", "auth_url": "https://o.test/t"}, id="authorization_key",
    ),
    pytest.param(
        AuthMethod.USER_PASSWORD, {"username": "alice", "password": "p4ss"},
        {"username": "alice", "password": "p4ss"}, id="user_password",
    ),
    pytest.param(
        AuthMethod.ACCESS_TOKEN, {"access_token": "eyJ.t"}, {"access_token": "eyJ.t"}, id="access_token",
    ),
    pytest.param(
        AuthMethod.CLIENT_CERTIFICATE, {"client_certificate": "CERT", "client_key": "KEY", "client_key_password": "pw"},
        {"client_key_password": "pw"}, id="client_certificate",
    ),
]  # fmt: skip


def shown_for(method: AuthMethod) -> set[str]:
    return {
        name
        for name, field in FIELDS.items()
        if any(rule == {"variable": "auth_method", "value": method.value} for rule in field.get("show_on") or [])
    }


@pytest.mark.parametrize(("method", "form", "parsed"), METHOD_FIELDS)
def test_the_form_shows_each_method_exactly_the_fields_the_parser_reads_for_it(
    method: AuthMethod, form: dict, parsed: dict, leaf: trustme.LeafCert
) -> None:
    assert shown_for(method) == set(form)
    pems = {"CERT": leaf.cert_chain_pems[0].bytes().decode(), "KEY": leaf.private_key_pem.bytes().decode()}
    values = {name: pems.get(value, value) for name, value in form.items()}
    # Values left in the other methods' hidden fields (Dify may keep them) must be ignored.
    leftovers = {name: "left-over" for other in AuthMethod if other is not method for name in shown_for(other)}
    settings = parse_credentials({**leftovers, **values, "auth_method": method.value})
    assert settings.auth_method is method
    for name, value in parsed.items():
        assert getattr(settings, name) == value
    assert "left-over" not in settings.model_dump_json()


@pytest.mark.parametrize(("method", "form", "parsed"), METHOD_FIELDS)
def test_every_required_field_of_a_method_is_reported_by_its_label_when_missing(
    method: AuthMethod, form: dict, parsed: dict, leaf: trustme.LeafCert
) -> None:
    option = next(o for o in FIELDS["auth_method"]["options"] if o["value"] == method.value)
    pems = {"CERT": leaf.cert_chain_pems[0].bytes().decode(), "KEY": leaf.private_key_pem.bytes().decode()}
    values = {name: pems.get(value, value) for name, value in form.items()}
    required = [name for name in form if FIELDS[name]["required"] and "default" not in FIELDS[name]]
    assert required, "each method has at least one required field"
    for name in required:
        with pytest.raises(CredentialsError) as caught:
            parse_credentials({**values, name: "", "auth_method": method.value})
        label = FIELDS[name]["label"]["en_US"].removesuffix(" (PEM)")
        assert str(caught.value) == f"{label} is required when Authentication is '{option['label']['en_US']}'."


def test_fields_of_no_particular_method_are_shown_for_every_method() -> None:
    per_method = set().union(*(shown_for(method) for method in AuthMethod))
    common = set(FIELDS) - per_method - {"auth_method"}
    assert common >= {"base_url", "ca_certificate", "verify_ssl", "request_timeout"}
    assert all(not FIELDS[name].get("show_on") for name in common)
