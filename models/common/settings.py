"""Dify's credential form (a dict of strings) -> one frozen, validated settings object.

Every rule about what a credential may look like lives here, so the provider, the LLM and the embedding model
reject bad input with the same sentence. Messages name the form field and never repeat a secret.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

# GigaChat's current host, the `gigachat` SDK's default since 0.2.3, where GigaChat 3 is served (Sber's GigaChat 3
# Ultra page, developers.sber.ru/docs/ru/gigachat/models/gigachat-3-ultra, July 2026).
DEFAULT_BASE_URL = "https://api.giga.chat/v1"
# The earlier host, which still serves the GigaChat 2 models and is the one with `/token` for user+password sign-in:
# the new host has none (the SDK 0.2.3 README, "Username and Password").
LEGACY_BASE_URL = "https://gigachat.devices.sberbank.ru/api/v1"
NO_TOKEN_HOSTS = frozenset({"api.giga.chat"})
DEFAULT_AUTH_URL = "https://ngw.devices.sberbank.ru:9443/api/v2/oauth"
SCOPES = ("GIGACHAT_API_PERS", "GIGACHAT_API_B2B", "GIGACHAT_API_CORP")
DEFAULT_TIMEOUT_SECONDS = 300.0
# The daemon gives up on a request after 600 s (PLUGIN_MAX_EXECUTION_TIMEOUT), so waiting longer helps nobody.
MAX_TIMEOUT_SECONDS = 600.0
# GigaChat serves an individual (GIGACHAT_API_PERS) one request at a time and a business (B2B, CORP) ten by default;
# more answer 429 (developers.sber.ru/docs/ru/gigachat/limitations, "Потоки", updated 2025-11-19).
STREAMS_PER_SCOPE = {"GIGACHAT_API_PERS": 1, "GIGACHAT_API_B2B": 10, "GIGACHAT_API_CORP": 10}
# Embedding requests in flight at once per credential set when the form leaves it empty (docs/embeddings.md):
# a business account's indexing leaves two of its ten streams to chats; a sign-in method without a scope (its limit
# unknown) gets a middle value.
RESERVED_STREAMS = 2
UNKNOWN_SCOPE_EMBEDDING_PARALLELISM = 4
MAX_EMBEDDING_PARALLELISM = 16

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
# The headers of an OpenSSL "traditional" encrypted key (RFC 1421), on their own lines or collapsed into one.
_LEGACY_ENCRYPTION = re.compile(
    r"^\s*Proc-Type:\s*4,ENCRYPTED\s+DEK-Info:\s*([A-Za-z0-9-]+,[0-9A-Fa-f]+)\s+(.*)$", re.DOTALL
)


class AuthMethod(enum.StrEnum):
    AUTHORIZATION_KEY = "authorization_key"
    USER_PASSWORD = "user_password"
    ACCESS_TOKEN = "access_token"
    CLIENT_CERTIFICATE = "client_certificate"


# The option labels of the provider form's 'Authentication' field, for messages that name the chosen method.
METHOD_LABELS = {
    AuthMethod.AUTHORIZATION_KEY: "Authorization key + scope (OAuth)",
    AuthMethod.USER_PASSWORD: "Username and password",
    AuthMethod.ACCESS_TOKEN: "Pre-issued access token",
    AuthMethod.CLIENT_CERTIFICATE: "Client certificate (mutual TLS)",
}


class ProtocolChoice(enum.StrEnum):
    """A customizable chat model's 'Chat protocol' field: by the model's family, or one protocol for this id."""

    AUTO = "auto"
    V1 = "v1"
    V2 = "v2"


class CredentialsError(ValueError):
    """A credential value that cannot work; the message is safe to show and names the form field."""


class GigaChatSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    auth_method: AuthMethod = AuthMethod.AUTHORIZATION_KEY
    authorization_key: str | None = None
    scope: str = SCOPES[0]
    username: str | None = None
    password: str | None = None
    access_token: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    client_key_password: str | None = None
    base_url: str = DEFAULT_BASE_URL
    auth_url: str = DEFAULT_AUTH_URL
    ca_certificate: str | None = None
    verify_ssl: bool = True
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    prompt_caching: bool = True
    embedding_parallelism: int  # parse_credentials fills it in: its default depends on the scope
    # The only hosts files are downloaded from ("host" for any port, "host:port", IPv6 in brackets); empty: any host
    # the download rules allow (models/llm/downloads.py).
    file_hosts: tuple[str, ...] = ()

    def secrets(self) -> tuple[str, ...]:
        """Every value that must never appear in a message, a log line or a traceback, encoded forms included: the
        key's decoded pair, and the Basic string of user and password that `/token` receives."""
        values = (self.authorization_key, self.password, self.access_token, self.client_key, self.client_key_password)
        raw_pair = _decoded_pair(self.authorization_key) if self.authorization_key else None
        basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode() if self.password else None
        return tuple(v for v in (*values, *(raw_pair or ()), basic) if v)

    @property
    def api_host(self) -> str:
        return urlsplit(self.base_url).netloc

    @property
    def auth_host(self) -> str:
        return urlsplit(self.auth_url).netloc


def parse_credentials(credentials: Mapping[str, object]) -> GigaChatSettings:
    """Validate Dify's credential dict; raise CredentialsError with a sentence the user can act on."""
    values = {key: _text(value) for key, value in credentials.items()}
    method = _auth_method(values.get("auth_method"))
    fields: dict[str, object] = {
        "auth_method": method,
        "base_url": _base_url(values.get("base_url"), method),
        "ca_certificate": normalize_pem_certificates(values.get("ca_certificate"), "CA certificate"),
        "verify_ssl": _switch(values.get("verify_ssl"), default=True),
        "timeout": _bounded(
            values.get("request_timeout"),
            "Request timeout",
            float,
            1,
            MAX_TIMEOUT_SECONDS,
            DEFAULT_TIMEOUT_SECONDS,
        ),
        "prompt_caching": _switch(values.get("prompt_caching"), default=True),
        "file_hosts": file_hosts(values.get("file_hosts")),
    }
    parallelism = _bounded(
        values.get("embedding_parallelism"), "Embedding parallelism", int, 1, MAX_EMBEDDING_PARALLELISM
    )
    if method is AuthMethod.AUTHORIZATION_KEY:
        fields["authorization_key"] = normalize_authorization_key(values.get("api_key"))
        fields["scope"] = _scope(values.get("scope"))
        # The OAuth URL is shown and used only with this method; another method ignores what is left in it.
        fields["auth_url"] = _url(values.get("auth_url"), DEFAULT_AUTH_URL, "OAuth URL")
    elif method is AuthMethod.USER_PASSWORD:
        username = _required(values.get("username"), "Username", method)
        fields["password"] = _required(values.get("password"), "Password", method)
        fields["username"] = _username(username)
    elif method is AuthMethod.ACCESS_TOKEN:
        fields["access_token"] = normalize_access_token(_required(values.get("access_token"), "Access token", method))
    else:
        # Both presence checks first: a missing field is named before a malformed one.
        certificate = _required(values.get("client_certificate"), "Client certificate", method)
        key = _required(values.get("client_key"), "Client private key", method)
        fields["client_certificate"] = normalize_pem_certificates(certificate, "Client certificate")
        fields["client_key"] = normalize_pem_private_key(key)
        fields["client_key_password"] = values.get("client_key_password") or None
    fields["embedding_parallelism"] = parallelism or default_embedding_parallelism(fields.get("scope"))
    return GigaChatSettings(**fields)


def protocol_choice(credentials: Mapping[str, object]) -> ProtocolChoice:
    """The model's 'Chat protocol' (auto when absent). Not part of GigaChatSettings, which keys the shared SDK client:
    models on one credential set share one client and one token, whichever protocol each speaks."""
    value = _text(credentials.get("chat_protocol"))
    try:
        return ProtocolChoice(value or ProtocolChoice.AUTO)
    except ValueError:
        choices = ", ".join(choice.value for choice in ProtocolChoice)
        raise CredentialsError(f"Chat protocol: must be one of {choices}.") from None


def _base_url(value: str | None, method: AuthMethod) -> str:
    """The API base URL; left empty, the host that serves this sign-in method (only the earlier host has `/token`)."""
    if method is not AuthMethod.USER_PASSWORD:
        return _url(value, DEFAULT_BASE_URL, "API base URL")
    url = _url(value, LEGACY_BASE_URL, "API base URL")
    host = urlsplit(url).hostname or ""
    if host in NO_TOKEN_HOSTS:
        raise CredentialsError(
            f"API base URL: {host} has no sign-in by user name and password (no /token endpoint); enter "
            f"{LEGACY_BASE_URL} or your installation's URL, or choose '{METHOD_LABELS[AuthMethod.AUTHORIZATION_KEY]}'."
        )
    return url


def default_embedding_parallelism(scope: str | None) -> int:
    """Embedding requests at once when the form leaves it empty: what the scope's stream limit allows."""
    streams = STREAMS_PER_SCOPE.get(scope or "")
    if streams is None:
        return UNKNOWN_SCOPE_EMBEDDING_PARALLELISM
    return streams - RESERVED_STREAMS if streams > RESERVED_STREAMS else streams


def normalize_authorization_key(value: str | None) -> str:
    """Accept GigaChat's base64 authorization key, or the raw client_id:client_secret pair it encodes."""
    key = _required(value, "Authorization key", AuthMethod.AUTHORIZATION_KEY)
    if _decoded_pair(key):
        return key
    client_id, sep, secret = key.partition(":")
    if sep and client_id and secret and not any(c.isspace() for c in key):
        return base64.b64encode(key.encode()).decode()
    raise CredentialsError(
        "Authorization key: expected the base64 'Authorization key' from GigaChat API studio "
        "or 'client_id:client_secret'; the value entered is neither."
    )


def file_hosts(value: str | None) -> tuple[str, ...]:
    """'File hosts': host names or addresses, each with an optional port, separated by commas or spaces."""
    hosts = []
    for entry in (value or "").replace(",", " ").split():
        try:
            parts = urlsplit(f"//{entry}")
            host, port = parts.hostname, parts.port
        except ValueError:
            host = port = None
        if not host or parts.username or parts.path or parts.query or parts.fragment:
            raise CredentialsError(f"File hosts: '{entry[:80]}' is not a host name or address with an optional port.")
        host = f"[{host}]" if ":" in host else host
        hosts.append(f"{host}:{port}" if port else host)
    return tuple(dict.fromkeys(hosts))


def normalize_access_token(value: str) -> str:
    """The token as GigaChat issued it: a pasted 'Bearer ' prefix is dropped; it must fit in one HTTP header."""
    token = value.removeprefix("Bearer ").removeprefix("bearer ").strip()
    if not token or not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
        raise CredentialsError("Access token: expected the token itself, one line of ASCII characters without spaces.")
    return token


def normalize_pem_certificates(value: str | None, field: str) -> str | None:
    """Return clean PEM for one or more certificates, accepting text whose newlines Dify collapsed to spaces.

    Text around the blocks (comments, `openssl x509 -text` output) is ignored, as OpenSSL ignores it.
    """
    if not value:
        return None
    blocks = _PEM_BLOCK.findall(_unescape_newlines(value))
    if not blocks:
        raise CredentialsError(f"{field}: no '-----BEGIN CERTIFICATE-----' block found; paste the PEM text.")
    pems = []
    for number, (kind, body) in enumerate(blocks, start=1):
        if kind != "CERTIFICATE":
            raise CredentialsError(f"{field}: block {number} is a '{kind}', not a CERTIFICATE.")
        pems.append(_rewrap("CERTIFICATE", _der(body, f"{field}: block {number}")))
    return "".join(pems)


def normalize_pem_private_key(value: str) -> str:
    """Return clean PEM for one private key (PKCS#8, PKCS#1, SEC1, encrypted or not), newlines restored."""
    blocks = _PEM_BLOCK.findall(_unescape_newlines(value))
    keys = [(kind, body) for kind, body in blocks if kind.endswith("PRIVATE KEY")]
    if len(keys) != 1:
        raise CredentialsError("Client private key: expected exactly one '-----BEGIN ... PRIVATE KEY-----' block.")
    kind, body = keys[0]
    legacy = _LEGACY_ENCRYPTION.match(body)
    if legacy:
        # The body is ciphertext, so only its base64 can be checked here; OpenSSL checks the rest with the password.
        dek_info, encrypted = legacy.groups()
        headers = f"Proc-Type: 4,ENCRYPTED\nDEK-Info: {dek_info}\n\n"
        return _rewrap(kind, _base64(encrypted, "Client private key"), headers)
    return _rewrap(kind, _der(body, "Client private key"))


def _unescape_newlines(value: str) -> str:
    # JSON- or shell-escaped PEM ("-----BEGIN ...-----\\nMIIC...") arrives with literal backslash-n sequences.
    return value.replace("\\r", "\n").replace("\\n", "\n")


def _rewrap(kind: str, der: bytes, headers: str = "") -> str:
    text = base64.b64encode(der).decode()
    lines = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    return f"-----BEGIN {kind}-----\n{headers}{lines}\n-----END {kind}-----\n"


def _base64(body: str, where: str) -> bytes:
    try:
        data = base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError):
        raise CredentialsError(f"{where} is not valid base64.") from None
    if not data:
        raise CredentialsError(f"{where} is empty.")
    return data


def _der(body: str, where: str) -> bytes:
    der = _base64(body, where)
    # Every DER certificate and key starts with an ASN.1 SEQUENCE tag.
    if der[0] != 0x30:
        raise CredentialsError(f"{where} does not contain DER data.")
    return der


def _decoded_pair(key: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(key, validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep and client_id and secret else None


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _required(value: str | None, field: str, method: AuthMethod) -> str:
    if not value:
        raise CredentialsError(f"{field} is required when Authentication is '{METHOD_LABELS[method]}'.")
    return value


def _username(value: str) -> str:
    if ":" in value:
        # HTTP Basic authentication joins user and password with ':', so GigaChat would split the name there.
        raise CredentialsError("Username: must not contain ':'.")
    return value


def _auth_method(value: str | None) -> AuthMethod:
    try:
        return AuthMethod(value or AuthMethod.AUTHORIZATION_KEY)
    except ValueError:
        choices = ", ".join(m.value for m in AuthMethod)
        raise CredentialsError(f"Authentication: unknown method; choose one of {choices}.") from None


def _scope(value: str | None) -> str:
    scope = (value or SCOPES[0]).upper()
    if scope not in SCOPES:
        raise CredentialsError(f"Scope: must be one of {', '.join(SCOPES)}.")
    return scope


def _url(value: str | None, default: str, field: str) -> str:
    url = (value or default).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or any(c.isspace() for c in url):
        raise CredentialsError(f"{field}: expected an http(s) URL with a host name, like {default}.")
    if parts.username or parts.password:
        # Such a URL would carry a secret into every log line that names the URL.
        raise CredentialsError(f"{field}: must not contain a user name or password.")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        # Dify stores URL fields as plain text, so a URL is no place for a key; GigaChat's URLs take none.
        raise CredentialsError(f"{field}: must not contain a query (?…) or a fragment (#…).")
    try:
        parts.port  # noqa: B018 - urlsplit validates the port lazily
    except ValueError:
        raise CredentialsError(f"{field}: the port is not a number from 0 to 65535.") from None
    return url


def _switch(value: str | None, *, default: bool) -> bool:
    """A yes/no field; a value that is neither (a typo, "enabled", "да") means the default: for 'Verify TLS
    certificates' an unclear answer must never turn verification off."""
    if value is None:
        return default
    answer = value.lower()
    if answer in ("true", "1", "yes", "on"):
        return True
    if answer in ("false", "0", "no", "off"):
        return False
    return default


def _bounded(
    value: str | None, field: str, kind: type[int] | type[float], low: float, high: float, default: float | None = None
):
    """A number field of the form: the default when empty, else a number of `kind` between low and high."""
    if value is None:
        return default
    try:
        number = kind(value)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise CredentialsError(f"{field}: must be {what}.") from None
    if not low <= number <= high:
        raise CredentialsError(f"{field}: must be between {low:g} and {high:g}.")
    return number
