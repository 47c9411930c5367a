"""Invariants of the model catalog and of the code base that no single feature test would notice breaking."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 499  # "under 500 lines"


def _tracked_python_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [ROOT / name for name in listed if (ROOT / name).exists()]


def test_every_python_file_stays_within_the_module_size_limit():
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in _tracked_python_files()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_long == {}


@pytest.mark.parametrize("folder", ["models/llm", "models/text_embedding"])
def test_each_model_file_is_named_after_its_model_and_listed_once_in_position_order(folder):
    directory = ROOT / folder
    models = {path.stem: yaml.safe_load(path.read_text()) for path in directory.glob("*.yaml") if path.stem[0] != "_"}
    position = yaml.safe_load((directory / "_position.yaml").read_text())
    assert all(entity["model"] == name for name, entity in models.items())
    assert sorted(position) == sorted(models)
    assert len(position) == len(set(position))


def test_no_model_declares_a_price_nobody_could_verify():
    for path in ROOT.glob("models/*/*.yaml"):
        assert "pricing" not in (yaml.safe_load(path.read_text()) or {}), path.name


def test_customizable_models_take_every_provider_connection_field():
    provider = yaml.safe_load((ROOT / "provider/gigachat.yaml").read_text())
    connection = provider["provider_credential_schema"]["credential_form_schemas"]
    per_model = provider["model_credential_schema"]["credential_form_schemas"]
    assert per_model[: len(connection)] == connection


def test_the_contract_credential_variables_are_all_present():
    provider = yaml.safe_load((ROOT / "provider/gigachat.yaml").read_text())
    fields = {f["variable"]: f for f in provider["provider_credential_schema"]["credential_form_schemas"]}
    assert fields["api_key"]["type"] == "secret-input"
    assert fields["api_key"]["required"] is True
    assert [o["value"] for o in fields["scope"]["options"]] == [
        "GIGACHAT_API_PERS",
        "GIGACHAT_API_B2B",
        "GIGACHAT_API_CORP",
    ]
    assert fields["scope"]["default"] == "GIGACHAT_API_PERS"
    assert fields["base_url"]["default"] == "https://api.giga.chat/v1"
    assert fields["auth_url"]["default"] == "https://ngw.devices.sberbank.ru:9443/api/v2/oauth"
    assert fields["verify_ssl"]["type"] == "switch"
    assert fields["verify_ssl"]["default"] == "true"
    assert "ca_certificate" in fields


def test_the_provider_and_manifest_speak_every_language_dify_shows():
    manifest = yaml.safe_load((ROOT / "manifest.yaml").read_text())
    provider = yaml.safe_load((ROOT / "provider/gigachat.yaml").read_text())
    for text in (manifest["label"], manifest["description"], provider["label"], provider["description"]):
        assert set(text) == {"en_US", "zh_Hans", "ja_JP", "pt_BR"}
    assert provider["help"]["url"]["en_US"].startswith("https://developers.sber.ru/")


# ---- the credential form --------------------------------------------------------------------------------------------

PROVIDER = yaml.safe_load((ROOT / "provider/gigachat.yaml").read_text())
FORM = {f["variable"]: f for f in PROVIDER["model_credential_schema"]["credential_form_schemas"]}
# What the daemon keeps of a credential field and passes on to Dify (dify-plugin-daemon
# pkg/entities/plugin_entities/model_declaration.go `ModelProviderCredentialFormSchema`): anything else, `help`
# included, never reaches the form.
DAEMON_FIELDS = {"variable", "label", "type", "required", "default", "options", "placeholder", "max_length", "show_on"}
# The fields whose values are secrets (settings.py `GigaChatSettings.secrets`, plus the client certificate).
SECRETS = {"api_key", "password", "access_token", "client_certificate", "client_key", "client_key_password"}


def test_every_field_that_carries_a_secret_is_a_secret_input_which_dify_encrypts():
    assert {name for name, field in FORM.items() if field["type"] == "secret-input"} == SECRETS


def test_credential_fields_declare_only_what_the_daemon_passes_on_to_dify():
    assert {
        name: sorted(set(field) - DAEMON_FIELDS) for name, field in FORM.items() if set(field) - DAEMON_FIELDS
    } == {}


def test_the_request_timeout_field_shows_its_range_where_dify_always_shows_it():
    from models.common.settings import DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS

    field = FORM["request_timeout"]
    assert f"1 to {MAX_TIMEOUT_SECONDS:g}" in field["label"]["en_US"]
    assert field["default"] == f"{DEFAULT_TIMEOUT_SECONDS:g}"
    assert all(f"{MAX_TIMEOUT_SECONDS:g}" in text for text in field["label"].values())


def test_turning_tls_verification_off_is_warned_of_in_the_label_not_only_in_a_switch_placeholder():
    label = FORM["verify_ssl"]["label"]
    assert "exposes prompts and key" in label["en_US"]
    assert len(set(label.values())) == 4  # each language says it in its own words


def test_repetition_penalty_help_says_what_sber_documents_and_that_below_1_is_undocumented():
    for path in ROOT.glob("models/llm/GigaChat*.yaml"):
        rule = next(r for r in yaml.safe_load(path.read_text())["parameter_rules"] if r["name"] == "repetition_penalty")
        help_text = rule["help"]["en_US"]
        assert "1.0" in help_text and "below 1.0" in help_text and "Sber does not document" in help_text, path.name


# ---- customizable models: which family an id inherits from ---------------------------------------------------------


def _predefined_llms() -> list:
    from dify_plugin.entities.model import AIModelEntity

    return [AIModelEntity(**yaml.safe_load(p.read_text())) for p in (ROOT / "models/llm").glob("GigaChat*.yaml")]


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("GigaChat-2-Max-preview", "GigaChat-2-Max"),
        ("GigaChat-2-Lite", "GigaChat-2"),
        ("GigaChat-3-Ultra-preview", "GigaChat-3-Ultra"),
        ("GigaChat-3-Lightning", "GigaChat-3-Ultra"),
        ("gigachat-3-pro", "GigaChat-3-Ultra"),
        ("GigaChat-30", None),
        ("GigaChat-5-Future", None),
        ("Kandinsky-3", None),
    ],
)
def test_an_id_inherits_its_longest_prefix_else_its_generations_model(model: str, family: str | None) -> None:
    from models.common.catalog import family_of

    found = family_of(_predefined_llms(), model)
    assert (found.model if found else None) == family
