"""Embedding model declarations, the parallelism setting, the query instruction and the in-order concurrent runner."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import yaml
from dify_plugin.entities.model import AIModelEntity

from devkit.emulator import EMBEDDING_DIMENSIONS
from models.common.catalog import FALLBACK_EMBEDDING_MAX_CHUNKS
from models.common.settings import (
    MAX_EMBEDDING_PARALLELISM,
    UNKNOWN_SCOPE_EMBEDDING_PARALLELISM,
    CredentialsError,
    parse_credentials,
)
from models.text_embedding.embed import run_in_order
from models.text_embedding.text_embedding import QUERY_INSTRUCTIONS, GigaChatTextEmbeddingModel

ROOT = Path(__file__).resolve().parents[2]
MODEL_FILES = sorted((ROOT / "models" / "text_embedding").glob("[!_]*.yaml"))
DAEMON_LINE_LIMIT = 5 * 1024 * 1024
# The longest JSON a float64 takes in a reply: "-0.000015851272367412408," is 25 characters.
MAX_BYTES_PER_FLOAT = 25
GIGAR_INSTRUCTION = "Дан вопрос, необходимо найти абзац текста с ответом \nвопрос: "


def declaration(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# ---- model YAMLs ----------------------------------------------------------------------------------------------------


def test_the_predefined_embedding_models_are_the_embedders_gigachats_model_list_gives():
    """The four ids of type `embedder` in the SDK's recording of GET /models (January 2026), as the API spells them."""
    expected = {"Embeddings", "Embeddings-2", "EmbeddingsGigaR", "GigaEmbeddings-3B-2025-09"}
    assert {declaration(path)["model"] for path in MODEL_FILES} == expected


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem)
def test_a_full_call_of_max_chunks_vectors_fits_the_daemons_5_mib_reply_line(path):
    entity = declaration(path)
    line = entity["model_properties"]["max_chunks"] * EMBEDDING_DIMENSIONS[entity["model"]] * MAX_BYTES_PER_FLOAT
    assert line < 0.8 * DAEMON_LINE_LIMIT


def test_a_customizable_model_of_unknown_family_also_fits_the_reply_line():
    widest = max(EMBEDDING_DIMENSIONS.values())
    assert FALLBACK_EMBEDDING_MAX_CHUNKS * widest * MAX_BYTES_PER_FLOAT < 0.8 * DAEMON_LINE_LIMIT


@pytest.mark.parametrize(("model", "context"), [("Embeddings", 512), ("EmbeddingsGigaR", 4096)])
def test_context_sizes_are_the_published_third_party_figures(model, context):
    """The shamspias/dify-gigachat-plugin README's figures (no official figure was found; third-party documentation)."""
    entity = declaration(ROOT / "models" / "text_embedding" / f"{model}.yaml")
    assert entity["model_properties"]["context_size"] == context


@pytest.mark.parametrize("model", ["Embeddings-2", "GigaEmbeddings-3B-2025-09"])
def test_a_model_without_any_published_context_size_assumes_the_smallest_known_one_and_says_so(model):
    path = ROOT / "models" / "text_embedding" / f"{model}.yaml"
    assert declaration(path)["model_properties"]["context_size"] == 512
    assert path.read_text(encoding="utf-8").count("ASSUMPTION") == 2  # the context size and the vector size


# ---- embedding_parallelism ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "value", "expected"),
    [
        # Left empty: what the scope's documented stream limit allows (one for individuals, ten for businesses, two
        # of which are left to chats).
        ("GIGACHAT_API_PERS", None, 1),
        ("GIGACHAT_API_PERS", "", 1),
        ("GIGACHAT_API_B2B", None, 8),
        ("GIGACHAT_API_CORP", "", 8),
        # Typed in: taken as it is, whatever the scope.
        ("GIGACHAT_API_PERS", "1", 1),
        ("GIGACHAT_API_PERS", " 8 ", 8),
        ("GIGACHAT_API_B2B", "16", 16),
    ],
)
def test_embedding_parallelism_follows_the_scopes_stream_limit_unless_typed_in(scope, value, expected):
    credentials = {"api_key": "client:secret", "scope": scope}
    credentials |= {} if value is None else {"embedding_parallelism": value}
    assert parse_credentials(credentials).embedding_parallelism == expected


@pytest.mark.parametrize(
    "credentials",
    [
        {"auth_method": "access_token", "access_token": "token"},
        {"auth_method": "user_password", "username": "user", "password": "secret"},
    ],
    ids=["access-token", "user-password"],
)
def test_a_sign_in_method_without_a_scope_gets_the_middle_default(credentials):
    assert parse_credentials(credentials).embedding_parallelism == UNKNOWN_SCOPE_EMBEDDING_PARALLELISM == 4


@pytest.mark.parametrize("value", ["0", "17", "-2", "four", "2.5", "1e3"])
def test_an_embedding_parallelism_out_of_range_or_not_a_whole_number_is_refused(value):
    with pytest.raises(CredentialsError, match="Embedding parallelism: must be"):
        parse_credentials({"api_key": "client:secret", "embedding_parallelism": value})


def test_the_upper_bound_is_16():
    assert MAX_EMBEDDING_PARALLELISM == 16


def test_the_parallelism_field_is_offered_for_the_provider_and_for_customizable_models():
    provider = (ROOT / "provider" / "gigachat.yaml").read_text(encoding="utf-8")
    assert "- &embedding_parallelism\n" in provider
    assert "- *embedding_parallelism\n" in provider
    schema = yaml.safe_load(provider)
    for forms in (
        schema["provider_credential_schema"]["credential_form_schemas"],
        schema["model_credential_schema"]["credential_form_schemas"],
    ):
        (field,) = [f for f in forms if f["variable"] == "embedding_parallelism"]
        assert set(field["label"]) == {"en_US", "zh_Hans", "ja_JP", "pt_BR"}
        # No default: a value Dify pre-filled would hide the scope's own.
        assert "default" not in field
        assert field["required"] is False


# ---- query instruction ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedding_model() -> GigaChatTextEmbeddingModel:
    return GigaChatTextEmbeddingModel(model_schemas=[AIModelEntity(**declaration(path)) for path in MODEL_FILES])


def test_the_default_instruction_is_the_reference_one_for_embeddings_gigar_only():
    assert QUERY_INSTRUCTIONS == {"EmbeddingsGigaR": GIGAR_INSTRUCTION}


@pytest.mark.parametrize(
    ("model", "field", "expected"),
    [
        ("EmbeddingsGigaR", None, GIGAR_INSTRUCTION),
        ("EmbeddingsGigaR-preview", None, GIGAR_INSTRUCTION),  # a customizable id inherits its family's default
        ("Embeddings", None, ""),
        ("Embeddings-2", None, ""),
        ("GigaEmbeddings-3B-2025-09", None, ""),
        ("EmbeddingsGigaR", "   ", GIGAR_INSTRUCTION),
        ("EmbeddingsGigaR", "none", ""),
        ("EmbeddingsGigaR", "None", ""),
        ("Embeddings-2", "query: ", "query: "),
        ("EmbeddingsGigaR", "Instruct: find the answer\\nQuery: ", "Instruct: find the answer\nQuery: "),
    ],
)
def test_the_query_instruction_is_the_models_field_else_its_familys_default(embedding_model, model, field, expected):
    credentials = {} if field is None else {"query_instruction": field}
    assert embedding_model.query_instruction(model, credentials) == expected


# ---- run_in_order ---------------------------------------------------------------------------------------------------


def test_results_come_back_in_task_order_whatever_order_tasks_finish_in():
    def task(i: int):
        return lambda: (time.sleep(0.01 * (5 - i)), i)[1]

    assert run_in_order([task(i) for i in range(6)], workers=4) == list(range(6))


def test_no_more_than_workers_tasks_run_at_once():
    lock, running, peak = threading.Lock(), [0], [0]

    def task():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    run_in_order([task] * 12, workers=3)
    assert peak[0] == 3


def test_the_first_failure_is_raised_and_tasks_not_yet_started_never_run():
    started: list[int] = []

    def task(i: int):
        def run():
            started.append(i)
            if i == 0:
                raise ValueError("batch 0 failed")
            time.sleep(0.05)
            return i

        return run

    with pytest.raises(ValueError, match="batch 0 failed"):
        run_in_order([task(i) for i in range(20)], workers=2)
    assert len(started) < 20


def test_one_worker_runs_tasks_one_after_another_on_the_calling_thread():
    caller = threading.get_ident()
    assert run_in_order([threading.get_ident] * 3, workers=1) == [caller] * 3
