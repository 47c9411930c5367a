"""Images GigaChat generated for an answer: fetched from its file storage, handed to Dify as image parts of the
assistant's message, and deleted from GigaChat when the request ends.

The entry point is protocol-neutral: a `Delta` whose `generated_images` holds GigaChat file ids. wire_v1 takes them
from v1's `<img src="<file id>" fuse="true"/>` tags; a v2 `files` part of the answer with target `image` fills the same
field (a file of any other target arrives in `unshown_files`, and is only deleted).

    images = GeneratedImages(client, settings, keep_for_deletion=request_files.track)
    for part in images.parts(delta):  # every id is kept for deletion by the call itself; each download as iterated
        ...

What Dify does with the parts: an `ImagePromptMessageContent` with base64 data and a MIME type in an assistant
message is saved by Dify as a file of that message (chat apps: api/core/app/apps/base_app_runner.py
`_handle_multimodal_image_content`; the workflow LLM node: `_save_multimodal_output_and_convert_result_to_markdown`,
which also lists it in the node's `files` output). A blocking answer is one chunk, and Dify keeps a list content only
when no chunk had string content, so there the text travels as a text part of the same list (`message_content`).

Size: the daemon reads the plugin's output line by line into a 5 MiB buffer, and a longer line ends the plugin
(dify-plugin-daemon, PLUGIN_RUNTIME_MAX_BUFFER_SIZE). A streamed image travels base64-encoded as one chunk on one line,
so the largest that fits is MAX_IMAGE_BYTES (3,926,016 bytes, about 3.7 MiB); a larger one is refused with an error
that says so, rather than ending the plugin.

Deletion: `parts` hands every id to `keep_for_deletion` (the request's RequestFiles, uploads.py) before it downloads
anything or yields, so the request's `finally` (chat.py) deletes the file from GigaChat whether the answer completes,
fails, or is abandoned by Dify mid-stream.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Iterator

from dify_plugin.entities.model.message import ImagePromptMessageContent, TextPromptMessageContent
from dify_plugin.errors.model import InvokeBadRequestError, InvokeServerUnavailableError
from gigachat import GigaChatSyncClient

from ..common.errors import step_error
from ..common.prefix import PREFIX
from ..common.retry import call_with_retries
from ..common.settings import GigaChatSettings
from .exchange import Delta
from .files import megabytes
from .sniff import sniff

MAX_LINE_BYTES = 5 * 1024 * 1024
# Room on the line for everything but the base64 data: the session envelope, the chunk's model and index, the part's
# other fields. The rest of the line is the most base64 one message can carry.
LINE_RESERVE = 8 * 1024
MAX_BASE64_CHARS = MAX_LINE_BYTES - LINE_RESERVE
MAX_IMAGE_BYTES = MAX_BASE64_CHARS // 4 * 3
# The plugin's own bound on the files one answer may name (GigaChat's image generation makes one image a call): every
# file named is downloaded or deleted, so a broken or hostile answer naming thousands would cost as many requests.
MAX_GENERATED_FILES = 16
# Image types Dify shows, by what the bytes are; GigaChat's text2image makes JPEG (Sber, "Создание изображений").
_SHOWN = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}


class GeneratedImages:
    def __init__(
        self, client: GigaChatSyncClient, settings: GigaChatSettings, keep_for_deletion: Callable[[str], None]
    ) -> None:
        self.client, self.settings, self.keep_for_deletion = client, settings, keep_for_deletion
        self.count = 0
        self.named = 0

    def parts(self, delta: Delta) -> Iterator[ImagePromptMessageContent]:
        """The images `delta` names, as Dify image parts; their ids, and those of the files it names that are not
        shown, are kept for deletion before this returns."""
        for file_id in (*delta.generated_images, *delta.unshown_files):
            if self.named == MAX_GENERATED_FILES:
                raise InvokeServerUnavailableError(
                    PREFIX + f"GigaChat's answer names more than {MAX_GENERATED_FILES} files it generated, more than "
                    "the plugin takes from one answer; ask for fewer images."
                )
            self.named += 1
            self.keep_for_deletion(file_id)
        return (self._fetch(file_id) for file_id in delta.generated_images)

    def _fetch(self, file_id: str) -> ImagePromptMessageContent:
        try:
            data = call_with_retries(lambda: self.client.get_image(file_id)).content
        except Exception as error:
            raise step_error(error, self.settings, "downloading the image GigaChat generated") from None
        if len(data) > MAX_BASE64_CHARS:
            raise InvokeBadRequestError(
                PREFIX + f"GigaChat generated an image of {megabytes(len(data) // 4 * 3)}; Dify takes images of at "
                f"most {megabytes(MAX_IMAGE_BYTES)} from a plugin, so it can't be shown. Ask for a smaller image."
            )
        mime = sniff(base64.b64decode(data[:24]))  # the type is in the first bytes; the rest stays encoded
        extension = _SHOWN.get(mime or "")
        if extension is None:
            raise InvokeServerUnavailableError(
                PREFIX + "the file GigaChat generated is not a JPEG, PNG, GIF or WebP image, so Dify can't show it."
            )
        self.count += 1
        return ImagePromptMessageContent(
            format=extension, mime_type=mime, base64_data=data, filename=f"gigachat-image-{self.count}.{extension}"
        )


def message_content(
    text: str, images: Iterable[ImagePromptMessageContent]
) -> str | list[TextPromptMessageContent | ImagePromptMessageContent]:
    """A whole answer's content: its text, or its text and images as one list that must fit on one line. The images
    are taken one at a time (each a download), and none after the first that no longer fits."""
    size = len(json.dumps(text, ensure_ascii=False).encode())
    shown: list[ImagePromptMessageContent] = []
    for image in images:
        size += len(image.base64_data)
        if size > MAX_BASE64_CHARS:
            raise InvokeBadRequestError(
                PREFIX + "the answer and the images GigaChat generated are too large for one message to Dify (at "
                f"most {megabytes(MAX_BASE64_CHARS)} from a plugin). Ask for fewer or smaller images."
            )
        shown.append(image)
    if not shown:
        return text
    return [*([TextPromptMessageContent(data=text)] if text else []), *shown]
