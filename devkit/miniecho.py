"""`miniecho`: a throwaway echo model provider on dify_plugin alone (the contract doc's verification plugin).

The harness tests run it instead of the real plugin, and the cold-start benchmark starts it as the baseline: it loads
dify_plugin and nothing else. Its LLM echoes the last user message word by word; a leading magic word triggers the
failure mode under test (`raise-before`, `fail-midstream`, `print-garbage`, `null-content`). Its embedding is
4-dimensional: [chars, words, 0.5, 0.25].
"""

from __future__ import annotations

from pathlib import Path

MANIFEST = """\
version: 0.0.1
type: plugin
author: example
name: miniecho
label: {en_US: Mini Echo}
description: {en_US: Throwaway echo model provider.}
icon: icon.svg
resource: {memory: 268435456}
plugins: {models: [provider/miniecho.yaml]}
meta:
  version: 0.0.1
  arch: [amd64, arm64]
  runner: {language: python, version: "3.12", entrypoint: main}
  minimum_dify_version: 1.0.0
created_at: 2025-01-01T00:00:00Z
"""
PROVIDER_YAML = """\
provider: miniecho
label: {en_US: Mini Echo}
icon_small: {en_US: icon.svg}
supported_model_types: [llm, text-embedding]
configurate_methods: [predefined-model]
provider_credential_schema:
  credential_form_schemas:
    - {variable: api_key, label: {en_US: API key}, type: secret-input, required: true}
models:
  llm: {predefined: ["models/llm/*.yaml"]}
  text_embedding: {predefined: ["models/text_embedding/*.yaml"]}
extra: {python: {provider_source: provider/miniecho.py, model_sources: [models/echo/echo.py]}}
"""
LLM_YAML = """\
model: echo-1
label: {en_US: Echo 1}
model_type: llm
features: [tool-call, stream-tool-call]
model_properties: {mode: chat, context_size: 4096}
parameter_rules: [{name: temperature, use_template: temperature}]
pricing: {input: '1.00', output: '2.00', unit: '0.000001', currency: USD}
"""
EMBED_YAML = "model: embed-1\nmodel_type: text-embedding\nmodel_properties: {context_size: 512, max_chunks: 8}\n"
# The LLM echoes the last user message word by word; a leading magic word triggers the failure mode under test.
# The embedding is 4-dimensional: [chars, words, 0.5, 0.25].
MODELS_PY = """\
import json
import time

from dify_plugin import LargeLanguageModel, TextEmbeddingModel
from dify_plugin.entities.model.llm import LLMResult, LLMResultChunk, LLMResultChunkDelta
from dify_plugin.entities.model.message import AssistantPromptMessage
from dify_plugin.entities.model.text_embedding import EmbeddingUsage, TextEmbeddingResult
from dify_plugin.errors.model import CredentialsValidateFailedError, InvokeConnectionError

Call, Function = AssistantPromptMessage.ToolCall, AssistantPromptMessage.ToolCall.ToolCallFunction


class Checks:
    def validate_credentials(self, model, credentials):
        if credentials.get("api_key") != "good":
            raise CredentialsValidateFailedError("invalid api key")

    validate_provider_credentials = lambda self, credentials: self.validate_credentials("", credentials)
    _invoke_error_mapping = property(lambda self: {InvokeConnectionError: [ConnectionError]})


def chunk(model, index, content, **delta):
    return LLMResultChunk(model=model, delta=LLMResultChunkDelta(
        index=index, message=AssistantPromptMessage(content=content, tool_calls=delta.pop("calls", [])), **delta))


class EchoLLM(Checks, LargeLanguageModel):
    def _invoke(self, model, credentials, prompt_messages, model_parameters, tools=None, stop=None, stream=True,
                user=None):
        text = prompt_messages[-1].get_text_content()
        if text.startswith("raise-before"):
            raise ConnectionError("upstream unreachable")
        if not stream:
            usage = self._calc_response_usage(model, credentials, 1, 1)
            return LLMResult(model=model, message=AssistantPromptMessage(content=text), usage=usage)
        return self._generate(model, credentials, text, tools)

    def _generate(self, model, credentials, text, tools):
        words = text.split(" ")
        for i, word in enumerate(words):
            time.sleep(0.005)  # gevent-patched: lets concurrent sessions interleave
            if text.startswith("print-garbage"):
                print("debug: plugin code printing to stdout")
            yield chunk(model, i, None if text.startswith("null-content") else (" " if i else "") + word)
            if text.startswith("fail-midstream"):
                raise ConnectionError("stream broke")
        finish = "stop"
        if tools:
            arguments = json.dumps({"echo": text})
            yield chunk(model, len(words), "", calls=[Call(id="call-1", type="function",
                                                           function=Function(name=tools[0].name, arguments=arguments))])
            finish = "tool_calls"
        usage = self._calc_response_usage(model, credentials, len(words), len(words))
        yield chunk(model, len(words) + 1, "", usage=usage, finish_reason=finish)

    def get_num_tokens(self, model, credentials, prompt_messages, tools=None):
        return sum(len(p.get_text_content().split()) for p in prompt_messages)


class EchoEmbedding(Checks, TextEmbeddingModel):
    def _invoke(self, model, credentials, texts, user=None, input_type=None):
        tokens = sum(self.get_num_tokens(model, credentials, texts))
        usage = EmbeddingUsage(tokens=tokens, total_tokens=tokens, unit_price="0.10", price_unit="0.000001",
                               total_price="0", currency="USD", latency=0.001)
        vectors = [[float(len(t)), float(len(t.split())), 0.5, 0.25] for t in texts]
        return TextEmbeddingResult(model=model, embeddings=vectors, usage=usage)

    def get_num_tokens(self, model, credentials, texts):
        return [len(t.split()) for t in texts]
"""
PROVIDER_PY = """\
from dify_plugin import ModelProvider
from models.echo.echo import Checks


class MiniEchoProvider(Checks, ModelProvider):
    pass
"""
MAIN_PY = "from dify_plugin import DifyPluginEnv, Plugin\n\nPlugin(DifyPluginEnv()).run()\n"
ICON = b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>\n'
FILES = {"manifest.yaml": MANIFEST, "main.py": MAIN_PY, "provider/miniecho.yaml": PROVIDER_YAML}
FILES |= {"provider/miniecho.py": PROVIDER_PY, "models/echo/echo.py": MODELS_PY}
FILES |= {"models/llm/echo-1.yaml": LLM_YAML, "models/text_embedding/embed-1.yaml": EMBED_YAML}
P, LLM, EMB, CREDS = "miniecho", "echo-1", "embed-1", {"api_key": "good"}


def write_plugin(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "_assets").mkdir(exist_ok=True)
    (root / "_assets" / "icon.svg").write_bytes(ICON)
    return root
