"""One chat invocation: build the request, pick the wire protocol that carries it, call GigaChat (blocking or
streaming), and map every failure; and the offline token count of a prompt.

Two refusals are answered once more in another form, each at most once (`fallback`): a model or host without
`response_format` gets the schema as a forced function call, and a v2 host that refuses a function result of role
`tool` gets it as role `function`.

Errors raised while Dify consumes a stream are not mapped by dify_plugin, so the generator maps them itself. The
stream is opened by retry.open_stream and closed when its `with` block ends, also when Dify stops reading. The
request's files are uploaded when it starts and deleted from GigaChat when it ends, in a `finally` (uploads.py).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from dify_plugin import get_current_session
from dify_plugin.entities.model.llm import LLMResult, LLMResultChunk, LLMUsage
from dify_plugin.entities.model.message import AssistantPromptMessage, PromptMessage, PromptMessageTool
from dify_plugin.errors.model import InvokeError
from gigachat.context import session_id_cvar
from gigachat.exceptions import ResponseError

from ..common import raw_requests
from ..common.catalog import BUILT_IN_TOOLS
from ..common.client import client_for, fingerprint
from ..common.errors import invoke_error
from ..common.retry import OpenStream, call_with_retries, open_stream
from ..common.settings import GigaChatSettings, ProtocolChoice, parse_credentials, protocol_choice
from ..common.tokens import billable, estimate_prompt_tokens, estimate_tokens
from . import wire_v1, wire_v2
from .conversation import countable_texts, to_turns
from .exchange import ChatProtocol, ChatRequest, Delta, Turn, Usage
from .files import Media
from .generated import GeneratedImages, message_content
from .params import built_in_tools, generation_fields, response_schema
from .stream import Assembler, dify_chunks, fitting
from .tools import (
    STRUCTURED_OUTPUT_FUNCTION,
    ToolNames,
    blamed,
    function_call_mode,
    function_spec,
    functions_for,
)
from .uploads import RequestFiles

# Dify's usage, priced, of so many input and output tokens (the model's `_calc_response_usage` for one model and
# credential set).
UsageFor = Callable[[int, int], LLMUsage]


def invoke(
    model: str,
    credentials: dict,
    prompt_messages: Sequence[PromptMessage],
    parameters: dict,
    tools: Sequence[PromptMessageTool] | None,
    stop: Sequence[str] | None,
    stream: bool,
    user: str | None,
    usage_for: UsageFor,
    takes_audio: bool = False,
) -> LLMResult | Iterator[LLMResultChunk]:
    """The LLM's `_invoke`: every failure before the answer starts is raised as a typed InvokeError. `takes_audio`:
    whether the model declares the `audio` feature (files.py sends audio to no other)."""
    settings = None
    try:
        settings = parse_credentials(credentials)
        choice = protocol_choice(credentials)
        request = build_request(
            model, prompt_messages, parameters, tools, raw_requests.tool_choice(), choice, takes_audio
        )
        # Inside the try: building the SDK client (TLS context, SDK settings) can fail too, and an error that
        # escapes here is re-raised by dify_plugin `from` the original, whose text would reach the traceback.
        return generate(settings, request, stop, stream, user, usage_for)
    except Exception as error:
        raise invoke_error(error, settings) from None


def prompt_tokens(prompt_messages: Sequence[PromptMessage], tools: Sequence[PromptMessageTool] | None) -> int:
    """The LLM's `get_num_tokens`, offline. Attachments are not counted: GigaChat's token counts cover text only."""
    specs = functions_for(tools or (), ToolNames.of([]))
    tool_tokens = sum(estimate_tokens(json.dumps(spec, ensure_ascii=False)) for spec in specs)
    return estimate_prompt_tokens(countable_texts(prompt_messages)) + tool_tokens


def build_request(
    model: str,
    prompt_messages: Sequence[PromptMessage],
    parameters: dict,
    tools: Sequence[PromptMessageTool] | None,
    tool_choice: object = None,
    protocol: ProtocolChoice = ProtocolChoice.AUTO,
    takes_audio: bool = False,
) -> ChatRequest:
    """The neutral request; `tool_choice` is the daemon's (raw_requests.tool_choice), None meaning auto, and
    `protocol` the model's 'Chat protocol'."""
    names = ToolNames.of([tool.name for tool in tools or ()])
    schema = response_schema(parameters)
    # Media parts become placeholders here; nothing is read or uploaded before the call.
    media = Media(model, takes_audio)
    builtin_tools = built_in_tools(parameters)
    return ChatRequest(
        model=model,
        turns=to_turns(prompt_messages, attach=media.attach),
        fields=generation_fields(parameters),
        functions=functions_for(tools or (), names),
        function_call=function_call_mode(tool_choice, names, bool(builtin_tools)),
        response_format={"type": "json_schema", "schema": schema, "strict": True} if schema is not None else None,
        names=names,
        media=media or None,
        protocol=protocol,
        builtin_tools=builtin_tools,
    )


# Model ids of the families GigaChat serves over v2 by default (GigaChat 3: Sber's GigaChat 3 Ultra page names both
# /v1 and /v2 on its host; the recordings of v2 are GigaChat-3-Ultra's). Every other id speaks v1.
V2_FAMILIES = ("gigachat-3",)


def protocol_for(request: ChatRequest) -> ChatProtocol:
    """The wire protocol that carries this request: v2 when it enables a built-in tool (only v2 has them), else the
    model's 'Chat protocol' when it names one, else v2 for the GigaChat 3 family and v1 (`/chat/completions`) for
    every other model."""
    if request.builtin_tools:
        return wire_v2
    if request.protocol is not ProtocolChoice.AUTO:
        return wire_v2 if request.protocol is ProtocolChoice.V2 else wire_v1
    return wire_v2 if request.model.lower().startswith(V2_FAMILIES) else wire_v1


def with_function_for_schema(request: ChatRequest) -> ChatRequest:
    """The same request, asking for the structured answer as a forced function call instead of response_format."""
    schema = (request.response_format or {}).get("schema")
    spec = function_spec(STRUCTURED_OUTPUT_FUNCTION, "Return the answer in this structure.", schema, "the schema")
    return replace(
        request,
        functions=[*request.functions, spec],
        function_call={"name": STRUCTURED_OUTPUT_FUNCTION},
        response_format=None,
    )


def rejects_response_format(error: ResponseError) -> bool:
    return error.status_code in (400, 422) and b"response_format" in (error.content or b"")


def fallback(
    error: ResponseError, request: ChatRequest, protocol: ChatProtocol
) -> tuple[ChatRequest, ChatProtocol] | None:
    """The same request in the other form GigaChat may take after this refusal, or None. Each form is tried at most
    once: neither rule matches the request it returns."""
    if request.response_format is not None and rejects_response_format(error):
        return with_function_for_schema(request), protocol
    if protocol is wire_v2 and error.status_code == 400 and any(turn.role == "tool" for turn in request.turns):
        return request, wire_v2.FUNCTION_ROLE
    return None


def generate(
    settings: GigaChatSettings,
    request: ChatRequest,
    stop: Sequence[str] | None,
    stream: bool,
    user: str | None,
    usage_for: UsageFor,
) -> LLMResult | Iterator[LLMResultChunk]:
    call = _Call(settings, request, stop, session_id(settings, user), usage_for)
    return call.stream() if stream else call.blocking()


class _Call:
    def __init__(
        self,
        settings: GigaChatSettings,
        request: ChatRequest,
        stop: Sequence[str] | None,
        session: str | None,
        usage_for: UsageFor,
    ) -> None:
        self.settings, self.request, self.stop, self.session = settings, request, stop, session
        self.usage_for = usage_for
        self.client = client_for(settings)
        self.call_as_text: str | None = None

    def blocking(self) -> LLMResult:
        uploads = RequestFiles(self.client, self.settings)
        try:
            self.request = uploads.prepare(self.request)
            delta = self._with_fallback(
                lambda request, protocol: call_with_retries(lambda: protocol.complete(self.client, request))
            )
            # Its images are kept for deletion first, before anything about the answer can fail.
            images = GeneratedImages(self.client, self.settings, uploads.track).parts(delta)
            assembler = self._assembler()
            text = assembler.pieces(delta) + assembler.tail()
            message = AssistantPromptMessage(
                content=message_content(text, images),
                tool_calls=assembler.tool_calls(),
                opaque_body=assembler.opaque_body(),
            )
            usage = self._usage(assembler.answer.usage, assembler.answer.text)
            result = LLMResult(model=self.request.model, message=message, usage=usage)
            fitting(result.to_llm_result_chunk())  # dify_plugin sends a blocking answer as one chunk, one line
        except Exception as error:
            raise self._error(error) from None
        finally:
            uploads.delete_all()
        return result

    def stream(self) -> Iterator[LLMResultChunk]:
        uploads = RequestFiles(self.client, self.settings)
        try:
            self.request = uploads.prepare(self.request)
            # Opened inside the fallback: a rejection of response_format arrives with the first item.
            with self._with_fallback(self._open_stream) as deltas:
                assembler = self._assembler()
                images = GeneratedImages(self.client, self.settings, uploads.track)
                yield from dify_chunks(self.request.model, deltas, assembler, self._usage, images.parts)
        except Exception as error:
            raise self._error(error) from None
        finally:
            # Also on GeneratorExit, when Dify stops reading: no file outlives its request.
            uploads.delete_all()

    def _assembler(self) -> Assembler:
        # GigaChat's citation markers come with its built-in tools; any other answer is left as written.
        return Assembler(self.stop, self.call_as_text, [BUILT_IN_TOOLS[name] for name in self.request.builtin_tools])

    def _open_stream(self, request: ChatRequest, protocol: ChatProtocol) -> OpenStream[Delta]:
        return open_stream(lambda: protocol.stream(self.client, request))

    def _with_fallback[T](self, run: Callable[[ChatRequest, ChatProtocol], T]) -> T:
        request, protocol = self.request, protocol_for(self.request)
        with self._session_header():
            while True:
                try:
                    return run(request, protocol)
                except ResponseError as error:
                    retry = fallback(error, request, protocol)
                    if retry is None:
                        raise
                request, protocol = retry
                if request.response_format is None and self.request.response_format is not None:
                    # The structured answer now comes as the arguments of a forced function call.
                    self.call_as_text = STRUCTURED_OUTPUT_FUNCTION

    @contextmanager
    def _session_header(self) -> Iterator[None]:
        token = session_id_cvar.set(self.session)
        try:
            yield
        finally:
            session_id_cvar.reset(token)

    def _usage(self, usage: Usage | None, answer: str) -> LLMUsage:
        if usage is None:
            # GigaChat sends usage with every final answer; the estimate covers a proxy that strips it.
            prompt = estimate_prompt_tokens(_texts(self.request.turns))
            usage = Usage(prompt, estimate_tokens(answer))
        return self.usage_for(billable(usage.input_tokens), billable(usage.output_tokens))

    def _error(self, error: Exception) -> InvokeError:
        request = self.request
        blame = functools.partial(
            blamed, functions=request.functions, names=request.names, builtin=request.builtin_tools
        )
        return invoke_error(error, self.settings, self._sensitive(), blame)

    def _sensitive(self) -> list[str]:
        """What an error message must not quote: every text of the request, tool-call arguments included."""
        calls = [t.function_call.arguments for t in self.request.turns if t.function_call is not None]
        values = [str(value) for arguments in calls for value in arguments.values()]
        return _texts(self.request.turns) + [json.dumps(a, ensure_ascii=False) for a in calls] + values


def _texts(turns: Sequence[Turn]) -> list[str]:
    return [turn.text for turn in turns if turn.text]


def session_id(settings: GigaChatSettings, user: str | None) -> str | None:
    """A stable X-Session-ID per Dify conversation, so GigaChat can reuse the cached prompt prefix.

    A keyed hash of the conversation id, keyed by these credentials: GigaChat sees neither the conversation id nor
    the user id, and the same conversation maps to the same id in every plugin process.
    """
    if not settings.prompt_caching:
        return None
    session = get_current_session()
    source = None
    if session is not None and session.conversation_id:
        source = f"conversation:{session.conversation_id}"
    elif session is not None and session.app_id and user:
        source = f"app:{session.app_id}:user:{user}"
    if source is None:
        return None
    digest = hmac.new(fingerprint(settings).encode(), source.encode(), hashlib.sha256).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
