"""Downloading a file from the URL Dify gives: only from the host Dify names, never from a link-local or cloud
metadata address, within the file's size limit and a total deadline, and with one sentence for every failure.

Dify usually passes files as URLs of its own file server (FILES_URL, typically an internal host such as
`http://api:5001`), so private and loopback addresses must stay reachable. But a file a user added by URL may reach
the plugin as that URL, and the plugin uploads what it downloads to GigaChat, where the model can read it back. So:
- a redirect is followed only within the same scheme, host and port: a file server has no reason to send the
  plugin elsewhere, and an attacker's server would send it to a service only the plugin can reach;
- the host's addresses are resolved once and checked (no link-local address, no cloud metadata endpoint, no
  unspecified or multicast address), and the connection goes to the address checked, so a DNS answer that changes
  between check and connect (DNS rebinding) changes nothing; TLS still verifies the host's name;
- an operator who wants stricter rules names the hosts in 'File hosts' (settings.file_hosts);
- every download that fails on the network (no connection, an HTTP error, a timeout, a redirect elsewhere, a
  refused address) ends in the same sentence, so errors cannot be used to map which internal ports answer;
- the body is read raw and decoded here with a hard limit (models/common/bounded.py), so the size limit holds on the
  decoded bytes as they arrive, and the whole download, redirects included, must end within its deadline.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from ..common.bounded import AnswerTooLarge, Bounds, UnknownEncoding, bound, with_bounds
from . import files
from .files import Limits, PendingFile, bad

DOWNLOAD_SECONDS = 30.0  # in total, redirects included; the Request timeout when that is shorter
CONNECT_SECONDS = 10.0
MAX_REDIRECTS = 5
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Instance metadata endpoints outside the link-local range: AWS's IPv6 one (docs.aws.amazon.com, EC2 user guide,
# "Retrieve instance metadata") and Alibaba Cloud's (cloud-init docs, AliYun datasource).
_METADATA = frozenset({ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix that embeds an IPv4 address (RFC 6052)


class _Failed(Exception):
    """A download that failed for a reason its message must not tell apart from any other."""


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str  # lower-case, without brackets
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return cls(scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0))

    @property
    def listed_host(self) -> str:
        """The host as 'File hosts' lists it (settings.file_hosts): an IPv6 address in brackets."""
        return f"[{self.host}]" if ":" in self.host else self.host

    @property
    def netloc(self) -> str:
        default = self.port == _DEFAULT_PORTS.get(self.scheme)
        return self.listed_host if default else f"{self.listed_host}:{self.port}"

    def allowed_by(self, hosts: tuple[str, ...]) -> bool:
        """Whether 'File hosts' names this host (any port) or this host and port; an empty list allows any host."""
        return not hosts or self.listed_host in hosts or f"{self.listed_host}:{self.port}" in hosts


def forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Addresses no file server has: link-local (169.254.0.0/16 and fe80::/10, where cloud metadata services
    answer), cloud metadata endpoints, and addresses that are not one host (unspecified, multicast); IPv4 addresses
    written as IPv6 are judged as the IPv4 address they are."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and forbidden(embedded):
            return True
    return address.is_link_local or address.is_unspecified or address.is_multicast or address in _METADATA


def download(
    url: str,
    pending: PendingFile,
    limits: Limits,
    verify: ssl.SSLContext | bool = True,
    seconds: float = DOWNLOAD_SECONDS,
    hosts: tuple[str, ...] = (),
) -> bytes:
    """The body of an http(s) URL, in memory, at most the file kind's size limit, by the rules above."""
    assert pending.kind is not None
    label = pending.label
    files.check_download_url(url, label)
    origin = Origin.of(url)
    if not origin.allowed_by(hosts):
        raise bad(
            f"{label} is on {origin.netloc}, which is not in 'File hosts'; the plugin downloads files only from "
            "the hosts named there."
        )
    deadline = time.monotonic() + seconds
    bounds = Bounds(max_bytes=limits.max_bytes(pending.kind), seconds=seconds)
    timeout = httpx.Timeout(seconds, connect=min(CONNECT_SECONDS, seconds))
    # No proxy from the environment: the connection must go to the address that was checked.
    client = httpx.Client(timeout=timeout, verify=verify, follow_redirects=False, trust_env=False)
    try:
        with bound(client, bounds) as http:
            addresses = _checked_addresses(origin)
            for address in addresses:  # in the resolver's order, as a browser tries them
                try:
                    return _fetch(http, url, origin, address, with_bounds(bounds, deadline), limits, pending)
                except httpx.ConnectError:
                    if address == addresses[-1]:
                        raise
    except AnswerTooLarge:
        raise bad(f"{label} is {files.too_large(None, pending.kind, limits)}.") from None
    except (_Failed, httpx.HTTPError, httpx.InvalidURL, UnknownEncoding, OSError, ValueError):
        pass
    raise bad(
        f"{label} could not be downloaded from the URL Dify gave; Dify's FILES_URL must be reachable from the plugin."
    )


def _checked_addresses(origin: Origin) -> list[str]:
    """The host's addresses, when none of them is forbidden."""
    found = socket.getaddrinfo(origin.host, origin.port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in found))
    if not addresses or any(forbidden(address) for address in addresses):
        raise _Failed
    return [str(address) for address in addresses]


def _fetch(
    http: httpx.Client, url: str, origin: Origin, address: str, extensions: dict, limits: Limits, pending: PendingFile
) -> bytes:
    """The body, from `address`, following redirects within the origin only."""
    for _ in range(MAX_REDIRECTS + 1):
        request = http.build_request(
            "GET",
            httpx.URL(url).copy_with(host=address),
            headers={"Host": origin.netloc, "Accept-Encoding": "identity"},
            extensions={"sni_hostname": origin.host} | extensions,
        )
        response = http.send(request, stream=True)
        try:
            if response.is_redirect and "location" in response.headers:
                url = str(httpx.URL(url).join(response.headers["location"]))
                if Origin.of(url) != origin:
                    raise _Failed
                continue
            if response.status_code != 200:
                raise _Failed
            return _body(response, limits, pending)
        finally:
            response.close()
    raise _Failed  # more than MAX_REDIRECTS redirects


def _body(response: httpx.Response, limits: Limits, pending: PendingFile) -> bytes:
    assert pending.kind is not None
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > limits.max_bytes(pending.kind):
        raise bad(f"{pending.label} is {files.too_large(int(length), pending.kind, limits)}.")
    return response.read()  # bounded: the decoded size is counted as it arrives
