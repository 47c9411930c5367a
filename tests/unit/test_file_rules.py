"""models/llm/files.py: what GigaChat takes, what a file really is, and which files a request sends (pure rules)."""

from __future__ import annotations

import struct

import pytest
from dify_plugin.entities.model.message import (
    AudioPromptMessageContent,
    DocumentPromptMessageContent,
    ImagePromptMessageContent,
    MultiModalPromptMessageContent,
    VideoPromptMessageContent,
)
from dify_plugin.errors.model import InvokeBadRequestError

from devkit.bombs import MiB, zip_bomb, zip_of_entries
from models.llm import files
from models.llm.exchange import Turn
from models.llm.files import MB, Budget, Limits, Media, PendingFile
from tests.file_samples import (
    AAC,
    BMP,
    DOCX,
    EPUB,
    FLAC,
    GIF,
    HTML,
    JPEG,
    M4A,
    MKV,
    MP3,
    MP3_FRAME,
    MP4,
    OGG_VORBIS,
    OLE2,
    OPUS,
    PDF,
    PPTX,
    TIFF,
    WEBM,
    XLSX,
    b64,
    png,
    wav,
)
from tests.tables import table

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def image(filename: str = "a.png", mime: str = "image/png", **fields: str) -> ImagePromptMessageContent:
    return ImagePromptMessageContent(format=filename.rpartition(".")[2], mime_type=mime, filename=filename, **fields)


def document(filename: str = "a.pdf", mime: str = "application/pdf", **fields: str) -> DocumentPromptMessageContent:
    return DocumentPromptMessageContent(format=filename.rpartition(".")[2], mime_type=mime, filename=filename, **fields)


def audio(filename: str = "a.mp3", mime: str = "audio/mpeg", **fields: str) -> AudioPromptMessageContent:
    return AudioPromptMessageContent(format=filename.rpartition(".")[2], mime_type=mime, filename=filename, **fields)


def pending(part: MultiModalPromptMessageContent) -> PendingFile:
    media = Media("GigaChat-Audio", takes_audio=True)
    return media.files[media.attach(part)]


# ---- what a file is ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "declared", "expected"),
    **table(
        ("png", png(), "", "image/png"),
        ("jpeg", JPEG, "", "image/jpeg"),
        ("tiff", TIFF, "", "image/tiff"),
        ("tiff-big-endian", b"MM\x00*" + b"\x00" * 12, "", "image/tiff"),
        ("bmp", BMP, "", "image/bmp"),
        ("gif", GIF, "", "image/gif"),
        ("webp", b"RIFF\x10\x00\x00\x00WEBPVP8 ", "", "image/webp"),
        ("heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "", "image/heic"),
        ("pdf", PDF, "", "application/pdf"),
        ("docx", DOCX, "", DOCX_MIME),
        ("pptx", PPTX, "", "application/pptx"),
        ("epub", EPUB, "", "application/epub"),
        ("xlsx-is-just-a-zip", XLSX, "", "application/zip"),
        ("broken-zip", b"PK\x03\x04" + b"\x00" * 40, "", "application/zip"),
        ("doc-by-declared-type", OLE2, "application/msword", "application/msword"),
        ("ppt-by-declared-type", OLE2, "application/ppt", "application/ppt"),
        ("ole2-declared-as-pdf", OLE2, "application/pdf", "application/x-ole-storage"),
        ("html", HTML, "", "text/html"),
        ("html-with-bom-and-spaces", b"\xef\xbb\xbf  \n<html><body>x</body></html>", "", "text/html"),
        ("svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "", "image/svg+xml"),
        ("utf8-text", "Привет, мир!\nВторая строка.".encode(), "", "text/plain"),
        ("cp1251-text", "Привет, мир!".encode("cp1251"), "", "text/plain"),
        ("binary", bytes(range(256)), "", None),
        ("empty", b"", "", None),
        # Audio, under the names Sber's file upload reference gives (5 February 2026).
        ("wav", wav(), "", "audio/wav"),
        ("mp3-with-id3-tag", MP3, "", "audio/mp3"),
        ("mp3-bare-frames", MP3_FRAME, "", "audio/mp3"),
        ("opus", OPUS, "", "audio/opus"),
        ("opus-declared-as-ogg-stays-ogg", OPUS, "audio/x-ogg", "audio/x-ogg"),
        ("ogg-vorbis", OGG_VORBIS, "", "audio/x-ogg"),
        ("ogg-vorbis-declared-as-opus-is-ogg", OGG_VORBIS, "audio/opus", "audio/x-ogg"),
        ("webm", WEBM, "", "audio/webm"),
        ("matroska", MKV, "", "video/x-matroska"),
        ("m4a-by-its-brand", M4A, "", "audio/x-m4a"),
        ("mp4", MP4, "", "audio/mp4"),
        ("mp4-declared-as-m4a", MP4, "audio/x-m4a", "audio/x-m4a"),
        ("flac", FLAC, "", "audio/flac"),
        ("aac-adts", AAC, "", "audio/aac"),
    ),
)
def test_the_type_is_read_from_the_bytes(data, declared, expected):
    assert files.sniff(data, declared) == expected


def claiming(archive: bytes, entries: int, directory_bytes: int | None = None) -> bytes:
    """The archive with an end record that claims `entries` (and `directory_bytes` when given)."""
    fields = list(struct.unpack("<HHHHIIH", archive[-18:]))
    fields[2:5] = [entries, entries, fields[4] if directory_bytes is None else directory_bytes]
    return archive[:-18] + struct.pack("<HHHHIIH", *fields)


ARCHIVES = table(
    ("more-entries-than-allowed", zip_of_entries(10_001), "is an archive of 10,001 files"),
    ("a-count-kept-in-a-zip64-record", claiming(zip_of_entries(3), 0xFFFF), "is an archive of 65,535 or more files"),
    ("a-count-that-lies-about-its-list", claiming(zip_of_entries(50_000), 2), "whose list of files takes 2.2 MB"),
    ("an-entry-inflating-a-thousandfold", zip_bomb("word/document.xml", 8 * MiB), "would expand to 1,0"),
)


@pytest.mark.parametrize(("data", "phrase"), **ARCHIVES)
def test_an_archive_built_to_exhaust_a_reader_is_refused_before_it_is_read(data, phrase):
    with pytest.raises(files.Unreadable, match=phrase):
        files.sniff(data)


def test_an_archive_whose_first_entry_hides_more_than_it_claims_is_read_a_few_bytes_only():
    assert files.sniff(zip_bomb("mimetype", 64 * MiB, declared=20)) == "application/zip"


def test_an_archive_at_the_entry_limit_with_ordinary_ratios_is_read():
    assert files.sniff(zip_of_entries(10_000)) == "application/zip"


@pytest.mark.parametrize(
    ("part", "data", "expected"),
    **table(
        ("png-declared-as-png", image(), png(), "image/png"),
        ("png-declared-as-jpeg-is-corrected", image("a.jpg", "image/jpeg"), png(), "image/png"),
        ("jpeg-declared-as-jpg", image("a.jpg", "image/jpg"), JPEG, "image/jpeg"),
        ("pdf", document(), PDF, "application/pdf"),
        ("docx", document("a.docx", DOCX_MIME), DOCX, DOCX_MIME),
        ("doc", document("a.doc", "application/msword"), OLE2, "application/msword"),
        ("ppt-declared-by-its-iana-name", document("a.ppt", "application/vnd.ms-powerpoint"), OLE2, "application/ppt"),
        ("txt", document("notes.txt", "text/plain"), "Заметки".encode(), "text/plain"),
        ("epub-declared-as-pdf-is-corrected", document("a.pdf"), EPUB, "application/epub"),
        ("mp3-declared-as-audio-mpeg", audio("a.mp3", "audio/mpeg"), MP3, "audio/mp3"),
        ("wav-declared-as-mp3-is-corrected", audio("a.mp3", "audio/mpeg"), wav(), "audio/wav"),
        ("telegram-voice-ogg-with-opus", audio("voice.ogg", "audio/ogg"), OPUS, "audio/x-ogg"),
        ("opus", audio("a.opus", "audio/opus"), OPUS, "audio/opus"),
        ("weba", audio("a.weba", "audio/webm"), WEBM, "audio/webm"),
        ("m4a-declared-by-its-short-name", audio("a.m4a", "audio/m4a"), M4A, "audio/x-m4a"),
        ("mp4", audio("a.mp4", "audio/mp4"), MP4, "audio/mp4"),
    ),
)
def test_a_file_is_uploaded_as_what_its_bytes_are_within_its_kind(part, data, expected):
    assert files.verified_type(data, pending(part)).mime == expected


@pytest.mark.parametrize(
    ("part", "data", "message"),
    **table(
        ("png-bytes-declared-as-pdf", document("scan.pdf"), png(), r"'scan.pdf' is sent as application/pdf, but its "
         r"content is a PNG image"),
        ("pdf-bytes-declared-as-image", image("photo.png"), PDF, r"'photo.png' is sent as image/png, but its content "
         r"is a PDF document"),
        ("html-declared-as-image", image("cat.png"), HTML, r"'cat.png' is an HTML page; GigaChat takes JPEG, PNG, TIFF "
         r"and BMP images\. If it came from a URL, check Dify's FILES_URL"),
        ("gif", image("anim.gif", "image/gif"), GIF, r"'anim.gif' is a GIF image; GigaChat takes JPEG, PNG, TIFF and "
         r"BMP images"),
        ("xlsx", document("t.xlsx", "application/vnd.ms-excel"), XLSX, r"'t.xlsx' is a ZIP archive; GigaChat takes "
         r"TXT, PDF, DOC, DOCX, EPUB, PPT and PPTX"),
        ("xls", document("t.xls", "application/vnd.ms-excel"), OLE2, r"'t.xls' is an Office 97-2003 file that is "
         r"neither a \.doc nor a \.ppt"),
        ("binary", document("blob.bin", "application/octet-stream"), bytes(range(256)), r"'blob.bin' is of a type "
         r"GigaChat does not take"),
        ("flac", audio("song.flac", "audio/flac"), FLAC, r"'song.flac' is a FLAC audio file; GigaChat takes MP3, "
         r"WAV, OGG, Opus, M4A, MP4 and WebM audio"),
        ("aac", audio("a.aac", "audio/aac"), AAC, r"'a.aac' is an AAC audio file; GigaChat takes MP3, WAV"),
        ("matroska", audio("a.mka", "audio/x-matroska"), MKV, r"'a.mka' is a Matroska video; GigaChat takes MP3"),
        ("pdf-declared-as-audio", audio("talk.mp3"), PDF, r"'talk.mp3' is sent as audio/mpeg, but its content is a "
         r"PDF document"),
        ("mp3-declared-as-image", image("a.png"), MP3, r"'a.png' is sent as image/png, but its content is an MP3 "
         r"audio file"),
        ("text-declared-as-audio", audio("notes.mp3"), b"just some text", r"'notes.mp3' is sent as audio/mpeg, but "
         r"its content is a text file"),
    ),
)  # fmt: skip
def test_a_file_of_a_refused_type_or_of_another_kind_is_a_bad_request_naming_it(part, data, message):
    with pytest.raises(InvokeBadRequestError, match=message):
        files.verified_type(data, pending(part))


@pytest.mark.parametrize(
    ("size", "kind", "message"),
    **table(
        ("empty", 0, files.Kind.IMAGE, r"'f' is empty"),
        ("image-over-15-mb", 15 * MB + 1, files.Kind.IMAGE, r"'f' is 15\.0 MB, GigaChat takes images of at most 15 MB"),
        ("document-over-40-mb", 41 * MB, files.Kind.DOCUMENT, r"'f' is 41 MB, GigaChat takes documents of at most 40"),
        (
            "audio-over-35-mb",
            35 * MB + 1,
            files.Kind.AUDIO,
            r"'f' is 35\.0 MB, GigaChat takes audio files of at most "
            r"35 MB",
        ),
    ),
)
def test_a_file_over_its_kinds_size_limit_is_a_bad_request_naming_it_and_the_limit(size, kind, message):
    with pytest.raises(InvokeBadRequestError, match=message):
        files.check_size(size, kind, "'f'")


@pytest.mark.parametrize(
    ("size", "kind"),
    [(15 * MB, files.Kind.IMAGE), (40 * MB, files.Kind.DOCUMENT), (35 * MB, files.Kind.AUDIO), (1, "image")],
)
def test_a_file_at_its_size_limit_passes(size, kind):
    files.check_size(size, files.Kind(kind), "'f'")


# ---- bytes from a part ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    **table(
        ("plain", b64(b"\x89PNG data"), b"\x89PNG data"),
        ("data-url", "data:image/png;base64," + b64(b"\x89PNG data"), b"\x89PNG data"),
        ("line-breaks", "iVBO\nRw0K\r\nGgo=", b"\x89PNG\r\n\x1a\n"),
        ("missing-padding", "iVBORw0KGgo", b"\x89PNG\r\n\x1a\n"),
    ),
)
def test_base64_data_is_decoded(value, expected):
    assert files.decode_base64(value, pending(image())) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    **table(
        ("not-base64", "this is not base64!", r"'a.png' is not valid base64 data"),
        ("url-safe-alphabet", "iVBO_w0K-go=", r"'a.png' is not valid base64 data"),
        ("data-url-without-base64", "data:image/png,rawbytes", r"'a.png' is a data URL without base64 data"),
        ("oversized", "A" * (21 * MB), r"'a.png' is 15\.8 MB, GigaChat takes images of at most 15 MB"),
    ),
)
def test_invalid_or_oversized_base64_is_a_bad_request_naming_the_file(value, message):
    with pytest.raises(InvokeBadRequestError, match=message):
        files.decode_base64(value, pending(image()))


def test_oversized_base64_audio_is_refused_before_it_is_decoded():
    with pytest.raises(InvokeBadRequestError, match=r"'a.mp3' is 36 MB, GigaChat takes audio files of at most 35"):
        files.decode_base64("A" * (48 * MB), pending(audio()))


@pytest.mark.parametrize("url", ["http://dify-api:5001/files/x/file-preview?sign=s", "HTTPS://example.com/a.png"])
def test_http_and_https_urls_may_be_downloaded(url):
    files.check_download_url(url, "'a.png'")


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://example.com/a.png", "gopher://x/", "javascript:alert(1)", "/files/a.png", "http://"],
)
def test_other_urls_are_a_bad_request_naming_the_file(url):
    with pytest.raises(InvokeBadRequestError, match=r"'a.png' has a URL with .*only http and https URLs"):
        files.check_download_url(url, "'a.png'")


# ---- which files a request sends --------------------------------------------------------------------------------


def conversation(
    *messages: list[MultiModalPromptMessageContent], takes_audio: bool = False
) -> tuple[list[Turn], Media]:
    """User turns holding these parts, separated by assistant turns; the last one is the latest user message; the
    model is GigaChat-2, taking audio when `takes_audio`."""
    media, turns = Media("GigaChat-2", takes_audio), []
    for parts in messages:
        if turns:
            turns.append(Turn("assistant", "ok"))
        turns.append(Turn("user", "look", attachments=tuple(media.attach(p) for p in parts)))
    return turns, media


def kept_names(turns: list[Turn], media: Media, limits: Limits = files.LIMITS) -> list[str]:
    return [media.files[slot.placeholder].part.filename for slot in files.select(turns, media.files, limits)]


def test_the_latest_message_is_sent_whole_then_older_files_newest_first():
    turns, media = conversation([image("old.png")], [document("mid.pdf")], [image("new.png"), document("new.pdf")])
    assert kept_names(turns, media) == ["new.pdf", "new.png", "mid.pdf", "old.png"]


def test_when_a_conversation_holds_more_files_than_gigachat_takes_the_most_recent_are_kept():
    turns, media = conversation(*[[image(f"{i}a.png"), image(f"{i}b.png")] for i in range(12)], [image("now.png")])
    kept = kept_names(turns, media)
    assert kept == ["now.png", *(f"{i}b.png" for i in range(11, 2, -1))]  # ten, the last image of each message


def test_an_older_message_with_more_images_than_gigachat_takes_keeps_its_last_one():
    turns, media = conversation([image("1.png"), image("2.png"), image("3.png")], [image("now.png")])
    assert kept_names(turns, media) == ["now.png", "3.png"]


def test_documents_do_not_count_against_the_images_per_message_limit():
    turns, media = conversation([image("1.png"), document("a.pdf"), document("b.pdf")])
    assert kept_names(turns, media) == ["b.pdf", "a.pdf", "1.png"]


@pytest.mark.parametrize(
    ("latest", "limits", "message"),
    **table(
        # Sber's chat reference (19 February 2026): one image per message.
        ("two-images", [image("1.png"), image("2.png")], Limits(),
         r"'2.png' is image 2 of one message; GigaChat takes one image per message: send the others in another "
         r"message"),
        ("three-images-when-the-limit-is-two", [image("1.png"), image("2.png"), image("3.png")],
         Limits(images_per_message=2), r"'3.png' is image 3 of one message; GigaChat takes at most 2 images per"),
        ("eleven-files", [document(f"{i}.pdf") for i in range(11)], Limits(),
         r"'10.pdf' is file 11 of one message; GigaChat takes at most 10 files per request"),
        ("video", [VideoPromptMessageContent(format="mp4", mime_type="video/mp4", filename="v.mp4")], Limits(),
         r"this plugin sends no video files to GigaChat; 'v.mp4' can't be sent"),
        ("audio-to-a-model-without-audio", [audio("v.mp3")], Limits(),
         r"model GigaChat-2 does not take audio files, so 'v.mp3' can't be sent; no source says which GigaChat "
         r"models do: add one that does as a customizable model with 'Accepts audio' on"),
    ),
)  # fmt: skip
def test_a_latest_message_over_a_limit_is_a_bad_request_naming_the_file_and_the_limit(latest, limits, message):
    turns, media = conversation([image("old.png")], latest)
    with pytest.raises(InvokeBadRequestError, match=message):
        files.select(turns, media.files, limits)


def test_an_audio_file_in_an_older_message_to_a_model_without_audio_is_left_out():
    turns, media = conversation([audio("v.mp3"), image("old.png")], [image("new.png")])
    assert kept_names(turns, media) == ["new.png", "old.png"]


def test_a_model_that_takes_audio_gets_audio_of_every_message_and_it_counts_as_a_file_not_an_image():
    turns, media = conversation(
        [audio("old.mp3")], [image("new.png"), audio("a.wav"), audio("b.ogg")], takes_audio=True
    )
    assert kept_names(turns, media) == ["b.ogg", "a.wav", "new.png", "old.mp3"]


def test_placeholders_become_file_ids_and_files_left_out_or_repeated_disappear():
    turns, _ = conversation([image("a.png"), image("b.png")], [image("c.png"), image("c-again.png")])
    first, second = turns[0].attachments, turns[2].attachments
    ids = {first[1]: "id-b", second[0]: "id-c", second[1]: "id-c"}
    result = files.with_ids(turns, ids)
    assert [t.attachments for t in result] == [("id-b",), (), ("id-c",)]
    assert [t.text for t in result] == [t.text for t in turns]


@pytest.mark.parametrize(
    ("sizes", "admitted"),
    **table(
        ("under-the-total", [30 * MB, 30 * MB, 20 * MB], [True, True, True]),
        ("an-older-file-over-the-total-is-left-out", [40 * MB, 39 * MB, 2 * MB, 1 * MB], [True, True, False, True]),
    ),
)
def test_older_files_that_would_exceed_the_request_total_are_left_out(sizes, admitted):
    budget = Budget()
    assert [budget.admit(size, pending(document()), current=False) for size in sizes] == admitted


def test_a_latest_file_that_would_exceed_the_request_total_is_a_bad_request_naming_it():
    budget = Budget()
    assert budget.admit(40 * MB, pending(document("a.pdf")), current=True)
    assert budget.admit(40 * MB, pending(document("b.pdf")), current=True)
    with pytest.raises(InvokeBadRequestError, match=r"'c.pdf' brings the request's files to 81 MB; GigaChat takes at "
                       r"most 80 MB of files per request"):  # fmt: skip
        budget.admit(1 * MB, pending(document("c.pdf")), current=True)


# ---- names ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "data", "expected"),
    **table(
        ("kept", image("cat.png"), png(), "cat.png"),
        ("extension-alias-kept", image("cat.JPEG", "image/jpeg"), JPEG, "cat.JPEG"),
        ("extension-fixed-to-the-real-type", image("cat.jpg", "image/jpeg"), png(), "cat.png"),
        ("extension-added", document("README", "text/plain"), b"hello", "README.txt"),
        ("path-separators-replaced", image("../../etc/cat.png"), png(), ".._.._etc_cat.png"),
        ("unnamed", image(""), png(), "image-3.png"),
        ("audio-kept", audio("talk.mp3"), MP3, "talk.mp3"),
        ("audio-extension-fixed", audio("voice.mp3"), OPUS, "voice.opus"),
        ("unnamed-audio", audio(""), wav(), "audio-3.wav"),
    ),
)
def test_the_uploaded_name_is_the_users_with_the_extension_of_the_real_type(part, data, expected):
    item = pending(part)
    assert files.upload_name(item, files.verified_type(data, item), 3) == expected


@pytest.mark.parametrize(
    ("part", "expected"),
    [(image("cat.png"), "'cat.png'"), (image(""), "an unnamed image"), (document("  "), "an unnamed document")],
)
def test_messages_name_a_file_by_its_file_name(part, expected):
    assert files.label_of(part) == expected


def test_a_request_without_media_parts_has_no_media():
    assert not Media()
