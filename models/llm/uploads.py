"""The files of one chat request: read them (base64 or a URL Dify gives), upload them, and delete them afterwards.

Lifecycle: `RequestFiles.prepare` runs when the request starts, `delete_all` when it ends, whether it succeeded,
failed or was abandoned mid-stream (chat.py calls it in `finally`). Every file is read and checked before the first
upload, so a rejected request uploads nothing. Identical bytes are uploaded once per request. Nothing is written to
disk: downloads and uploads stay in memory.

No cache across requests: a file kept on GigaChat for the next turn of a conversation has no moment at which the
plugin could safely delete it (it can't know the conversation ended, and a restart forgets the ids), so every
request uploads what it needs and deletes it when it ends (PRIVACY.md section 4).

A deletion that fails (GigaChat unreachable at that moment) is never raised over the request's own result: the id
is kept in memory and retried when the next request through the same client ends.
"""

from __future__ import annotations

import functools
import hashlib
import ssl
import threading
import weakref
from dataclasses import dataclass, replace

import certifi
from dify_plugin.errors.model import InvokeBadRequestError
from gigachat import GigaChatSyncClient
from gigachat.exceptions import ResponseError

from ..common.errors import step_error
from ..common.retry import RetryPolicy, call_with_retries
from ..common.settings import GigaChatSettings
from . import files
from .downloads import DOWNLOAD_SECONDS, download
from .exchange import ChatRequest
from .files import LIMITS, Budget, FileType, Limits, PendingFile, bad

DELETE_POLICY = RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0)
MAX_LEFTOVERS = 1000  # per client: ids whose deletion failed, retried later; bounded so memory is too


@dataclass(frozen=True)
class _Blob:
    pending: PendingFile
    file_type: FileType
    data: bytes


class RequestFiles:
    def __init__(self, client: GigaChatSyncClient, settings: GigaChatSettings, limits: Limits = LIMITS) -> None:
        self.client, self.settings, self.limits = client, settings, limits
        self.uploaded: list[str] = []

    def prepare(self, request: ChatRequest) -> ChatRequest:
        """The request with every file uploaded and referenced by id; files older messages can't fit are left out."""
        media = request.media
        if not media:
            return request
        digests: dict[str, str] = {}  # placeholder -> sha256 of its bytes
        blobs: dict[str, _Blob] = {}  # sha256 -> what to upload
        budget = Budget(self.limits)
        for slot in files.select(request.turns, media.files, self.limits):
            pending = media.files[slot.placeholder]
            try:
                blob = self._read(pending)
            except InvokeBadRequestError:
                if slot.current:
                    raise
                continue  # an earlier message's file that can't be sent now: best effort
            digest = hashlib.sha256(blob.data).hexdigest()
            if digest not in blobs:
                if not budget.admit(len(blob.data), pending, slot.current):
                    continue
                blobs[digest] = blob
            digests[slot.placeholder] = digest
        ids = {digest: self._upload(blob, number) for number, (digest, blob) in enumerate(blobs.items(), start=1)}
        turns = files.with_ids(request.turns, {p: ids[d] for p, d in digests.items()})
        return replace(request, turns=turns, media=None)

    def _read(self, pending: PendingFile) -> _Blob:
        assert pending.kind is not None
        part = pending.part
        if part.base64_data:
            data = files.decode_base64(part.base64_data, pending, self.limits)
        elif part.url.startswith("data:"):
            data = files.decode_base64(part.url, pending, self.limits)
        elif part.url:
            context = _download_context(self.settings.ca_certificate)
            seconds = min(DOWNLOAD_SECONDS, self.settings.timeout)
            data = download(part.url, pending, self.limits, context, seconds, self.settings.file_hosts)
        else:
            raise bad(f"{pending.label} has neither data nor a URL.")
        files.check_size(len(data), pending.kind, pending.label, self.limits)
        return _Blob(pending, files.verified_type(data, pending), data)

    def _upload(self, blob: _Blob, number: int) -> str:
        name = files.upload_name(blob.pending, blob.file_type, number)
        try:
            uploaded = call_with_retries(
                lambda: self.client.upload_file((name, blob.data, blob.file_type.mime), purpose="general")
            )
        except Exception as error:
            # GigaChat's message is never quoted: it may echo the file, which no check could compare it with cheaply.
            raise step_error(error, self.settings, f"uploading {blob.pending.label}", quote_server=False) from None
        self.uploaded.append(uploaded.id_)
        return uploaded.id_

    def track(self, file_id: str) -> None:
        """A file GigaChat made for this request (an image it generated): deleted with the uploaded ones."""
        self.uploaded.append(file_id)

    def delete_all(self) -> None:
        """Delete every file uploaded for this request (then earlier leftovers); never raises."""
        ids, self.uploaded = [*self.uploaded, *_leftovers.take(self.client)], []
        for index, file_id in enumerate(ids):
            try:
                call_with_retries(lambda file_id=file_id: self.client.delete_file(file_id), DELETE_POLICY)
            except ResponseError as error:
                if error.status_code == 429 or error.status_code >= 500:
                    _leftovers.keep(self.client, [file_id])
                # Any other answer (404: already gone) would not change by asking again.
            except Exception:
                # GigaChat is unreachable: don't wait on every id; the next request's end tries again.
                _leftovers.keep(self.client, ids[index:])
                return


class _Leftovers:
    """Ids whose deletion failed, per SDK client, in memory only (they vanish with the client)."""

    def __init__(self) -> None:
        self._ids: weakref.WeakKeyDictionary[GigaChatSyncClient, list[str]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def keep(self, client: GigaChatSyncClient, ids: list[str]) -> None:
        with self._lock:
            kept = self._ids.setdefault(client, [])
            kept.extend(ids)
            del kept[:-MAX_LEFTOVERS]

    def take(self, client: GigaChatSyncClient) -> list[str]:
        with self._lock:
            return self._ids.pop(client, [])


_leftovers = _Leftovers()


@functools.lru_cache(maxsize=8)
def _download_context(ca_certificate: str | None) -> ssl.SSLContext:
    """Standard roots plus the user's own CA (a self-hosted Dify behind the same corporate CA); never the GigaChat
    client certificate, which is for GigaChat only. Cached: loading the roots costs tens of milliseconds of CPU,
    which under gevent stalls every other request, and a context is safe to share."""
    context = ssl.create_default_context(cafile=certifi.where())
    if ca_certificate:
        context.load_verify_locations(cadata=ca_certificate)
    return context
