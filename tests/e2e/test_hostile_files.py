"""Hostile files and hostile file servers, through the packaged plugin: an upload or a URL built to exhaust the
plugin's memory or time, or to reach a service the plugin can reach and the user cannot, ends in a typed error, costs
the process little memory (its resident memory, sampled with psutil while the request runs) and little time (the
harness's clock), and reaches nothing it should not.
"""

from __future__ import annotations

import gzip
import socket
from collections.abc import Iterator

import pytest

from devkit.bombs import MiB, gzip_layers, zip_bomb, zip_of_entries
from devkit.emulator import Reply
from devkit.file_server import FileServer
from devkit.harness import messages as m
from devkit.rig import PROVIDER, PeakMemory, credentials_for, timed_request
from tests.file_samples import b64, png
from tests.tables import table

pytestmark = pytest.mark.e2e
MODEL = "GigaChat-2-Max"
BAD = "InvokeBadRequestError"
BOMB = 128 * MiB  # what each bomb expands to; its compressed form is about 130 KB
MEMORY_BOUND = 48 * MiB  # what one hostile request may add to the plugin's resident memory
BOUND = 15.0  # seconds the harness waits for any reply here
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
UNIFORM = "could not be downloaded from the URL Dify gave"  # every failed download ends in this one sentence


@pytest.fixture(scope="module")
def file_server() -> Iterator[FileServer]:
    with FileServer() as files:
        yield files


@pytest.fixture
def files(file_server: FileServer) -> Iterator[FileServer]:
    file_server.routes.clear()
    file_server.hits.clear()
    yield file_server


def document(data: bytes, name: str = "report.docx") -> dict:
    return m.document_part(base64_data=b64(data), mime_type=DOCX, filename=name)


def image_url(url: str, name: str = "photo.png") -> dict:
    return m.image_part(url=url, mime_type="image/png", filename=name)


def ask(plugin, creds, part: dict, stream: bool = True):
    """Ask about one file; the reply, the seconds it took and the memory it cost the plugin process."""
    data = m.invoke_llm(PROVIDER, MODEL, creds, [m.user([m.text_part("What is in it?"), part])], stream=stream)
    with PeakMemory(plugin.pid) as memory:
        reply, seconds = timed_request(plugin, data, BOUND)
    return reply, seconds, memory


def refused(reply, phrase: str) -> None:
    assert reply.error is not None, f"answered instead of refusing: {reply.text[:80]!r}"
    assert reply.error["error_type"] == BAD
    assert phrase in reply.error["message"], reply.error["message"]


# ---- item 1: archives that expand or sprawl -----------------------------------------------------------------------


def test_a_docx_whose_mimetype_entry_hides_128_mib_is_refused_without_inflating_it(plugin, emu, creds):
    bomb = zip_bomb("mimetype", BOMB, declared=20)  # the type check reads the first entry of every ZIP
    reply, _, memory = ask(plugin, creds, document(bomb, "bomb.docx"))
    refused(reply, "'bomb.docx'")
    assert memory.growth < MEMORY_BOUND, f"{memory.growth / MiB:.0f} MiB"
    assert emu.files == {}


def test_a_docx_whose_document_expands_a_thousandfold_is_refused_as_a_zip_bomb(plugin, emu, creds):
    reply, _, _ = ask(plugin, creds, document(zip_bomb("word/document.xml", BOMB), "bomb.docx"))
    refused(reply, "'bomb.docx' would expand to 1,0")
    assert emu.files == {}  # nothing reached GigaChat, which would have to unpack it


def test_an_archive_of_65000_entries_is_refused_before_its_directory_is_read(plugin, emu, creds):
    reply, _, memory = ask(plugin, creds, document(zip_of_entries(65_000), "sprawl.docx"))
    refused(reply, "'sprawl.docx' is an archive of 65,000 files; the plugin reads archives of at most 10,000")
    assert memory.growth < MEMORY_BOUND, f"{memory.growth / MiB:.0f} MiB"


# ---- item 2: downloads that expand -----------------------------------------------------------------------------------


def test_a_download_gzipped_twice_into_128_mib_stops_at_the_size_limit_as_bytes_arrive(plugin, emu, creds, files):
    body = gzip_layers(BOMB, layers=2)
    url = files.serve("/bomb.png", body, "image/png", headers={"Content-Encoding": "gzip, gzip"})
    reply, _, memory = ask(plugin, creds, image_url(url, "bomb.png"))
    refused(reply, "'bomb.png' is larger than allowed: GigaChat takes images of at most 15 MB")
    assert memory.growth < MEMORY_BOUND, f"{memory.growth / MiB:.0f} MiB"
    assert emu.files == {}


def test_a_download_in_an_encoding_the_plugin_cannot_bound_is_refused(plugin, emu, creds, files):
    url = files.serve("/a.png", png(), "image/png", headers={"Content-Encoding": "br"})
    reply, _, _ = ask(plugin, creds, image_url(url))
    refused(reply, UNIFORM)
    assert emu.files == {}


def test_a_gzipped_download_is_decoded_and_sent(plugin, emu, creds, files):
    url = files.serve("/a.png", gzip.compress(png()), "image/png", headers={"Content-Encoding": "gzip"})
    reply, _, _ = ask(plugin, creds, image_url(url))
    assert reply.error is None
    assert [f.data for f in emu.files.values()] == [png()]


# ---- item 3: downloads that reach where they should not -------------------------------------------------------------


def test_a_url_of_a_cloud_metadata_address_is_never_fetched(plugin, emu, creds):
    reply, seconds, _ = ask(plugin, creds, image_url("http://169.254.169.254/latest/meta-data/iam"))
    refused(reply, UNIFORM)
    assert seconds < 5  # refused before any connection, not after a connect timeout
    assert emu.files == {}


def test_a_redirect_to_another_host_is_not_followed(plugin, emu, creds, files):
    with FileServer() as internal:
        internal.serve("/secret.png", png(seed=42), "image/png")
        url = files.redirect("/a.png", internal.url("/secret.png"))
        reply, _, _ = ask(plugin, creds, image_url(url))
        assert internal.hits == []
    refused(reply, UNIFORM)
    assert emu.files == {}


def test_a_redirect_within_the_same_host_is_followed(plugin, emu, creds, files):
    files.serve("/files/a.png", png(), "image/png")
    reply, _, _ = ask(plugin, creds, image_url(files.redirect("/a.png", "/files/a.png")))
    assert reply.error is None
    assert files.hits == ["/a.png", "/files/a.png"]


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/a.png"


FAILED_DOWNLOADS = table(
    ("nothing-listens", lambda files: closed_port_url()),
    ("not-found", lambda files: files.url("/missing.png")),
    ("server-error", lambda files: files.serve("/a.png", b"oops", status=500)),
    ("silent-server", lambda files: files.serve("/a.png", png(), "image/png", stall=30)),
    ("redirect-to-another-port", lambda files: files.redirect("/a.png", closed_port_url())),
    ("link-local", lambda files: "http://169.254.0.1/a.png"),
)


@pytest.mark.parametrize(("where",), **FAILED_DOWNLOADS)
def test_every_failed_download_ends_in_the_same_sentence(plugin, emu, files, where):
    creds = credentials_for(emu, request_timeout="1")
    reply, _, _ = ask(plugin, creds, image_url(where(files)))
    refused(reply, UNIFORM)
    message = reply.error["message"]
    assert message == f"[gigachat] 'photo.png' {UNIFORM}; Dify's FILES_URL must be reachable from the plugin."


def test_file_hosts_limits_downloads_to_the_hosts_it_names(plugin, emu, files):
    url = files.serve("/a.png", png(), "image/png")
    elsewhere = credentials_for(emu, file_hosts="files.example.com, api:5001")
    reply, _, _ = ask(plugin, elsewhere, image_url(url))
    refused(reply, "'photo.png' is on 127.0.0.1:")
    assert "which is not in 'File hosts'" in reply.error["message"]
    assert files.hits == []
    here = credentials_for(emu, file_hosts=f"files.example.com, 127.0.0.1:{url.split(':')[2].split('/')[0]}")
    assert ask(plugin, here, image_url(url))[0].error is None


# ---- item 7: a download is timed in total --------------------------------------------------------------------------


def test_a_download_that_drips_a_byte_at_a_time_ends_within_the_request_timeout(plugin, emu, files):
    creds = credentials_for(emu, request_timeout="1")
    url = files.serve("/slow.png", png() + bytes(400), "image/png", drip=0.05)  # each read succeeds; the whole: 20 s
    emu.script(Reply(text="never asked"))
    reply, seconds, _ = ask(plugin, creds, image_url(url, "slow.png"))
    refused(reply, UNIFORM)
    assert seconds < 3, f"{seconds:.1f} s"
    assert emu.chat_requests == []
