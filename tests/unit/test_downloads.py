"""The download rules of models/llm/downloads.py: which addresses are never fetched, what 'File hosts' allows, and
that the connection goes to the address checked while TLS still verifies the host's name."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator

import pytest
import trustme
from dify_plugin.entities.model.message import ImagePromptMessageContent
from dify_plugin.errors.model import InvokeBadRequestError

from devkit.file_server import FileServer
from models.common.settings import file_hosts
from models.llm.downloads import Origin, download, forbidden
from models.llm.files import Limits, Media, PendingFile
from tests.file_samples import png
from tests.tables import table

FORBIDDEN = table(
    ("cloud-metadata", "169.254.169.254", True),
    ("link-local", "169.254.0.1", True),
    ("aws-metadata-ipv6", "fd00:ec2::254", True),
    ("alibaba-metadata", "100.100.100.200", True),
    ("link-local-ipv6", "fe80::1", True),
    ("metadata-as-mapped-ipv6", "::ffff:169.254.169.254", True),
    ("metadata-through-nat64", "64:ff9b::a9fe:a9fe", True),
    ("metadata-through-6to4", "2002:a9fe:a9fe::1", True),
    ("unspecified", "0.0.0.0", True),
    ("unspecified-ipv6", "::", True),
    ("multicast", "224.0.0.1", True),
    ("loopback", "127.0.0.1", False),
    ("loopback-ipv6", "::1", False),
    ("private", "10.0.0.5", False),
    ("docker-network", "172.17.0.2", False),
    ("home-network", "192.168.1.10", False),
    ("shared-address-space", "100.64.0.1", False),
    ("public", "93.184.216.34", False),
)


@pytest.mark.parametrize(("address", "expected"), **FORBIDDEN)
def test_link_local_metadata_and_non_host_addresses_are_never_fetched_and_file_servers_are(address, expected):
    assert forbidden(ipaddress.ip_address(address)) is expected


ALLOWED = table(
    ("empty-list-allows-any-host", "", "http://api:5001/f", True),
    ("a-host-on-any-port", "api", "http://api:5001/f", True),
    ("a-host-and-its-port", "files.example.com, api:5001", "http://api:5001/f", True),
    ("another-port", "api:5001", "http://api:5002/f", False),
    ("the-default-port-named", "files.example.com:443", "https://files.example.com/f", True),
    ("any-case", "Files.Example.com", "https://FILES.example.com/f", True),
    ("ipv6-with-a-port", "[::1]:8080", "http://[::1]:8080/f", True),
    ("another-host", "api", "http://metadata.google.internal/f", False),
)


@pytest.mark.parametrize(("hosts", "url", "expected"), **ALLOWED)
def test_file_hosts_allow_a_host_on_any_port_or_on_the_port_named(hosts, url, expected):
    assert Origin.of(url).allowed_by(file_hosts(hosts)) is expected


@pytest.fixture
def image() -> PendingFile:
    media = Media()
    return media.files[media.attach(ImagePromptMessageContent(format="png", mime_type="image/png", filename="a.png"))]


@pytest.fixture
def https_server(ca: trustme.CA) -> Iterator[FileServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)  # the name only, not the address the plugin connects to
    with FileServer(context) as files:
        yield files


def test_a_download_connects_to_the_address_it_checked_and_tls_verifies_the_host_name(https_server, ca, image):
    https_server.serve("/a.png", png(), "image/png")
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    assert download(f"https://localhost:{https_server.port}/a.png", image, Limits(), trusted) == png()
    with pytest.raises(InvokeBadRequestError, match="could not be downloaded"):
        download(f"https://127.0.0.1:{https_server.port}/a.png", image, Limits(), trusted)  # not the name certified
