"""devkit/package: validation rules (one broken thing per case), checksum, zip format, CLI (what ships:
test_package_files.py)."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from dify_plugin.core.entities.plugin.setup import PluginConfiguration
from dify_plugin.entities.model.provider import ConfigurateMethod, FormType, ModelProviderConfiguration
from dify_plugin.entities.model.schema import (
    PARAMETER_RULE_TEMPLATE,
    ModelFeature,
    ModelPropertyKey,
    ModelType,
    ParameterType,
)

from devkit import ROOT, package
from devkit.package import PackageInvalid, Problem, build, checksum, collect_files, unique_identifier, validate
from devkit.package import rules as plugin_rules

pytestmark = pytest.mark.devkit

M, P, L, POS = "manifest.yaml", "provider/demo.yaml", "models/llm/demo-chat.yaml", "models/llm/_position.yaml"
PCS = "provider_credential_schema.credential_form_schemas"
MCS = "model_credential_schema.credential_form_schemas"
REQ = "requirements.txt"
Spec = dict[str, Any]


def i18n(text: str) -> dict[str, str]:
    return {"en_US": text}


def form(variable: str, kind: str, required: bool, when: tuple[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    item = {"variable": variable, "label": i18n(variable.title()), "type": kind, "required": required, **extra}
    return {**item, "show_on": [{"variable": when[0], "value": when[1]}]} if when else item


def option(value: str) -> dict[str, Any]:
    return {"value": value, "label": i18n(value.upper())}


def plugin_spec() -> Spec:
    """A minimal plugin that passes every rule; each value is file content (str) or data dumped as YAML."""
    return {
        M: {
            "version": "0.0.1",
            "type": "plugin",
            "author": "example",
            "name": "demo",
            "label": i18n("Demo"),
            "description": i18n("Demo provider."),
            "icon": "icon.svg",
            "resource": {"memory": 268435456},
            "plugins": {"models": [P]},
            "meta": {
                "version": "0.0.1",
                "arch": ["amd64", "arm64"],
                "runner": {"language": "python", "version": "3.12", "entrypoint": "main"},
                "minimum_dify_version": "1.0.0",
            },
            "created_at": dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
            "privacy": "PRIVACY.md",
            "tags": ["rag"],
        },
        P: {
            "provider": "demo",
            "label": i18n("Demo"),
            "icon_small": i18n("icon.svg"),
            "icon_large": i18n("icon.svg"),
            "supported_model_types": ["llm"],
            "configurate_methods": ["predefined-model", "customizable-model"],
            "provider_credential_schema": {
                "credential_form_schemas": [
                    form("api_key", "secret-input", True),
                    form("region", "select", False, default="eu", options=[option("eu"), option("us")]),
                    form("endpoint", "text-input", False, when=("region", "eu")),
                ]
            },
            "model_credential_schema": {
                "model": {"label": i18n("Model name")},
                "credential_form_schemas": [
                    form("api_key", "secret-input", True),
                    form("context", "text-input", False, when=("__model_type", "llm"), default="4096"),
                ],
            },
            "models": {"llm": {"position": POS, "predefined": ["models/llm/*.yaml"]}},
            "extra": {"python": {"provider_source": "provider/demo.py", "model_sources": ["models/llm/llm.py"]}},
        },
        L: {
            "model": "demo-chat",
            "label": i18n("Demo Chat"),
            "model_type": "llm",
            "features": ["tool-call", "vision"],
            "model_properties": {"mode": "chat", "context_size": 8192},
            "parameter_rules": [
                {"name": "temperature", "use_template": "temperature"},
                {"name": "max_tokens", "use_template": "max_tokens", "default": 1024, "min": 1, "max": 4096},
                {"name": "response_format", "label": i18n("Format"), "type": "string", "options": ["text", "json"]},
            ],
            "pricing": {"input": "0.50", "output": "1.50", "unit": "0.000001", "currency": "USD"},
        },
        POS: ["demo-chat"],
        "requirements.txt": "dify_plugin==0.10.2\n",
        "README.md": "# Demo\n",
        "PRIVACY.md": "This plugin stores nothing.\n",
        "_assets/icon.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>\n",
        "main.py": "from dify_plugin import DifyPluginEnv, Plugin\n\nPlugin(DifyPluginEnv()).run()\n",
        "provider/demo.py": "# provider\n",
        "models/llm/llm.py": "# llm\n",
        ".difyignore": "dist/\n.venv/\n__pycache__/\n.env\n*.difypkg\n",
    }


def write_plugin(root: Path, spec: Spec | None = None) -> Path:
    for rel, content in (plugin_spec() if spec is None else spec).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False, allow_unicode=True)
        path.write_text(text, encoding="utf-8")
    return root


# Mutations: each returns a function that breaks one thing in a spec.
Mutation = Callable[[Spec], None]


def put(file: str, path: str, value: Any) -> Mutation:
    def mutate(spec: Spec) -> None:
        *parents, last = [int(k) if k.isdigit() else k for k in path.split(".")]
        node = spec[file]
        for key in parents:
            node = node[key]
        if value is DROP:
            del node[last]
        else:
            node[last] = value

    return mutate


DROP = object()


def write(rel: str, text: str) -> Mutation:
    return lambda spec: spec.__setitem__(rel, text)


def remove(rel: str) -> Mutation:
    return lambda spec: spec.pop(rel)


def both(*mutations: Mutation) -> Mutation:
    return lambda spec: [m(spec) for m in mutations] and None


NO_IGNORE = write(".difyignore", "dist/\n")
CASES = [
    ("author with uppercase", put(M, "author", "Example"), M, "author"),
    ("author shaped like a UUID", put(M, "author", "0f8fad5b-d9cb-469f-a165-70867728950e"), M, "author"),
    ("name with a dot", put(M, "name", "demo.plugin"), M, "name"),
    ("version with two parts", put(M, "version", "1.0"), M, "version"),
    ("version suffix the SDK cannot parse", put(M, "version", "1.0.0-foo"), M, "version"),
    ("type other than plugin", put(M, "type", "tool"), M, "type"),
    ("ru_RU label key", put(M, "label.ru_RU", "Демо"), M, "label.ru_RU"),
    ("label without en_US", put(M, "label", {"zh_Hans": "演示"}), M, "label.en_US"),
    ("icon missing from _assets", put(M, "icon", "nope.svg"), M, "icon"),
    ("icon naming a directory", both(write("_assets/pack/a.svg", "<svg/>"), put(M, "icon", "pack")), M, "icon"),
    ("icon excluded by .difyignore", write(".difyignore", "dist/\n_assets/icon.svg\n"), M, "icon"),
    ("created_at in the future", put(M, "created_at", dt.datetime(2999, 1, 1, tzinfo=dt.UTC)), M, "created_at"),
    ("created_at without an offset", put(M, "created_at", dt.datetime(2025, 1, 1)), M, "created_at"),
    ("resource.memory zero", put(M, "resource.memory", 0), M, "resource.memory"),
    ("two provider YAMLs", put(M, "plugins.models", [P, P]), M, "plugins.models"),
    ("tools next to models", put(M, "plugins.tools", ["tools/x.yaml"]), M, "plugins.tools"),
    ("arch x86", put(M, "meta.arch", ["x86"]), M, "meta.arch[0]"),
    ("arch empty", put(M, "meta.arch", []), M, "meta.arch"),
    ("meta.version missing", put(M, "meta.version", DROP), M, "meta.version"),
    ("runner version unquoted", put(M, "meta.runner.version", 3.12), M, "meta.runner.version"),
    ("runner language go", put(M, "meta.runner.language", "go"), M, "meta.runner.language"),
    ("entrypoint module missing", put(M, "meta.runner.entrypoint", "app"), M, "meta.runner.entrypoint"),
    ("tag outside the list", put(M, "tags", ["llm"]), M, "tags[0]"),
    ("privacy file missing", put(M, "privacy", "docs/PRIVACY.md"), M, "privacy"),
    ("duplicate YAML key", write(M, "version: 0.0.1\nversion: 0.0.2\n"), M, "(yaml)"),
    ("empty manifest", write(M, "{}\n"), M, "author"),
    ("model type typo", put(P, "supported_model_types", ["chat"]), P, "supported_model_types[0]"),
    ("configurate method typo", put(P, "configurate_methods", ["predefined"]), P, "configurate_methods[0]"),
    ("small icon missing", put(P, "icon_small", i18n("small.svg")), P, "icon_small.en_US"),
    ("default as int", put(P, f"{PCS}.1.default", 4096), P, f"{PCS}[1].default"),
    ("missing required:", put(P, f"{PCS}.0.required", DROP), P, f"{PCS}[0].required"),
    ("required as a string", put(P, f"{PCS}.0.required", "yes"), P, f"{PCS}[0].required"),
    ("duplicate variable", put(P, f"{PCS}.1.variable", "api_key"), P, f"{PCS}[1].variable"),
    ("form type password", put(P, f"{PCS}.0.type", "password"), P, f"{PCS}[0].type"),
    ("select without options", put(P, f"{PCS}.1.options", []), P, f"{PCS}[1].options"),
    ("select default not an option", put(P, f"{PCS}.1.default", "asia"), P, f"{PCS}[1].default"),
    ("option value unquoted", put(P, f"{PCS}.1.options.0.value", 1), P, f"{PCS}[1].options[0].value"),
    ("show_on unknown variable", put(P, f"{PCS}.2.show_on.0.variable", "zone"), P, f"{PCS}[2].show_on[0].variable"),
    ("form label without en_US", put(P, f"{MCS}.0.label", {"pt_BR": "Chave"}), P, f"{MCS}[0].label.en_US"),
    ("model label missing", put(P, "model_credential_schema.model", {}), P, "model_credential_schema.model.label"),
    ("customizable without model schema", put(P, "model_credential_schema", DROP), P, "model_credential_schema"),
    ("glob matches nothing", put(P, "models.llm.predefined", ["models/chat/*.yaml"]), P, "models.llm.predefined[0]"),
    ("star crossing a slash", put(P, "models.llm.predefined", ["models/*.yaml"]), P, "models.llm.predefined[0]"),
    ("position file missing", remove(POS), P, "models.llm.position"),
    ("position id mismatch", write(POS, "- demo-chat-v2\n"), POS, "[0]"),
    ("model missing from position", write(POS, "[]\n"), POS, "(list)"),
    ("duplicate position id", write(POS, "- demo-chat\n- demo-chat\n"), POS, "[1]"),
    ("provider source missing", remove("provider/demo.py"), P, "extra.python.provider_source"),
    ("model source missing", put(P, "extra.python.model_sources", ["x.py"]), P, "extra.python.model_sources[0]"),
    ("feature typo", put(L, "features", ["tool_call"]), L, "features[0]"),
    ("model YAML that is a list", write(L, "- model: demo-chat\n"), L, "(document)"),
    ("model id differs from file name", put(L, "model", "demo"), L, "model"),
    ("model_type of another folder", put(L, "model_type", "text-embedding"), L, "model_type"),
    ("model_properties missing", put(L, "model_properties", DROP), L, "model_properties"),
    ("unknown model property", put(L, "model_properties.max_tokens", 1), L, "model_properties.max_tokens"),
    ("mode neither chat nor completion", put(L, "model_properties.mode", "stream"), L, "model_properties.mode"),
    ("context_size as text", put(L, "model_properties.context_size", "8k"), L, "model_properties.context_size"),
    ("misspelled model field", put(L, "parameter_rule", []), L, "parameter_rule"),
    ("unknown template", put(L, "parameter_rules.0.use_template", "temp"), L, "parameter_rules[0].use_template"),
    ("rule without template or label", put(L, "parameter_rules.2.label", DROP), L, "parameter_rules[2].label"),
    ("rule type double", put(L, "parameter_rules.2.type", "double"), L, "parameter_rules[2].type"),
    (
        "default above inherited max",
        both(put(L, "parameter_rules.1.max", DROP), put(L, "parameter_rules.1.default", 4096)),
        L,
        "parameter_rules[1].default",
    ),
    ("default below min", put(L, "parameter_rules.1.default", 0), L, "parameter_rules[1].default"),
    ("default not an option", put(L, "parameter_rules.2.default", "xml"), L, "parameter_rules[2].default"),
    ("duplicate rule name", put(L, "parameter_rules.1.name", "temperature"), L, "parameter_rules[1].name"),
    ("price unquoted", put(L, "pricing.input", 0.5), L, "pricing.input"),
    ("price without currency", put(L, "pricing.currency", DROP), L, "pricing.currency"),
    ("dify_plugin not pinned", write(REQ, "dify_plugin\n"), REQ, "dify_plugin"),
    ("dify_plugin pin with spaces", write(REQ, "dify_plugin == 0.10.2\n"), REQ, "dify_plugin"),
    ("dify_plugin below 0.1.1", write(REQ, "dify_plugin==0.0.9\n"), REQ, "dify_plugin"),
    ("requirements missing", remove(REQ), REQ, "(file)"),
    ("README empty", write("README.md", "  \n"), "README.md", "(file)"),
    ("PRIVACY missing", remove("PRIVACY.md"), "PRIVACY.md", "(file)"),
    ("translated README misnamed", write("readme/README_ru.md", "# Демо\n"), "readme/README_ru.md", "(file)"),
    ("_assets missing", both(remove("_assets/icon.svg")), "_assets/", "(file)"),
    (".env not ignored", both(NO_IGNORE, write(".env", "KEY=1\n")), ".env", "(file)"),
    (".venv not ignored", both(NO_IGNORE, write(".venv/pyvenv.cfg", "x\n")), ".venv/", "(file)"),
    ("__pycache__ not ignored", both(NO_IGNORE, write("m/__pycache__/x.pyc", "x")), "m/__pycache__/", "(file)"),
    ("old package not ignored", both(NO_IGNORE, write("demo-0.0.0.difypkg", "x")), "demo-0.0.0.difypkg", "(file)"),
    ("tooling pyproject packaged", write("pyproject.toml", "[tool.ruff]\n"), "pyproject.toml", "(file)"),
]


def test_a_minimal_valid_plugin_has_no_problems(tmp_path: Path) -> None:
    assert validate(write_plugin(tmp_path)) == []
    assert str(Problem("manifest.yaml", "author", "bad")) == "manifest.yaml: author: bad"


def test_the_minimal_valid_plugin_is_accepted_by_the_sdks_own_models(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(write_plugin(tmp_path))  # the SDK finds model YAMLs relative to the working directory
    PluginConfiguration(**yaml.safe_load(Path("manifest.yaml").read_text()))
    provider = ModelProviderConfiguration(**yaml.safe_load(Path("provider/demo.yaml").read_text()))
    assert ([m.model for m in provider.models], provider.position.llm) == (["demo-chat"], ["demo-chat"])


@pytest.mark.parametrize(("mutation", "file", "field"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_each_broken_rule_names_its_file_and_field(tmp_path: Path, mutation: Mutation, file: str, field: str) -> None:
    spec = copy.deepcopy(plugin_spec())
    mutation(spec)
    problems = validate(write_plugin(tmp_path, spec))
    assert (file, field) in [(p.file, p.field) for p in problems], "\n".join(map(str, problems))


def test_an_excluded_file_is_reported_as_excluded_not_missing(tmp_path: Path) -> None:
    spec = plugin_spec()
    spec[".difyignore"] += "_assets/icon.svg\n"
    messages = [p.message for p in validate(write_plugin(tmp_path, spec)) if p.field == "icon"]
    assert messages == ["icon '_assets/icon.svg' is excluded by .difyignore"]


def test_a_template_default_outside_the_template_range_explains_the_inheritance(tmp_path: Path) -> None:
    spec = plugin_spec()
    del spec[L]["parameter_rules"][1]["max"]
    spec[L]["parameter_rules"][1]["default"] = 4096
    (problem,) = [p for p in validate(write_plugin(tmp_path, spec)) if p.field == "parameter_rules[1].default"]
    assert "above max 2048" in problem.message and "inherited from template 'max_tokens'" in problem.message


def test_a_text_embedding_model_needs_positive_context_size_and_max_chunks(tmp_path: Path) -> None:
    (tmp_path / "e.yaml").write_text("model: e\nmodel_type: text-embedding\nmodel_properties: {context_size: 512}\n")
    tree = plugin_rules.Tree(tmp_path, frozenset({"e.yaml"}))
    plugin_rules.check_model_yaml(tree, "e.yaml", "text-embedding")
    assert [(p.file, p.field) for p in tree.problems] == [("e.yaml", "model_properties.max_chunks")]


def test_the_uncompressed_size_limit_lists_the_five_largest_files(tmp_path: Path) -> None:
    write_plugin(tmp_path)
    for i in range(6):  # sparse files: a large stat size without using the disk
        with open(tmp_path / f"big{i}.bin", "wb") as fh:
            fh.truncate((10 + i) * 1024 * 1024)
    (problem,) = [p for p in validate(tmp_path) if p.field == "size"]
    assert all(f"big{i}.bin" in problem.message for i in range(1, 6)) and "big0.bin" not in problem.message


def test_go_glob_star_does_not_cross_a_slash() -> None:
    assert plugin_rules.go_match("models/llm/*.yaml", "models/llm/a.yaml")
    assert not plugin_rules.go_match("models/*.yaml", "models/llm/a.yaml")
    assert not plugin_rules.go_match("models/llm/*.yaml", "models/llm/sub/a.yaml")


# ---------------------------------------------------------------- checksum and identifier


def test_checksum_of_two_tiny_entries_matches_the_daemon_algorithm_by_hand() -> None:
    def h(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    by_hand = hashlib.sha256(h(b"a.txt") + h(b"A") + h(b"b/c.txt") + h(b"C")).hexdigest()
    assert by_hand == "7ab7c5808dc6791009f53750aa5de5046d6d1265de47165b16fbdb2b1463d14c"
    assert checksum([("b/c.txt", b"C"), ("a.txt", b"A")]) == by_hand


def test_the_identifier_and_bytes_depend_on_content_only_not_on_mtimes(
    tmp_path: Path,
) -> None:
    root = write_plugin(tmp_path / "p")
    first = build(root, tmp_path / "out1")
    for rel in collect_files(root):
        os.utime(root / rel, (1_000_000_000, 1_000_000_000))
    second = build(root, tmp_path / "out2")
    assert first.identifier == second.identifier
    assert first.path.read_bytes() == second.path.read_bytes()
    (root / "README.md").write_text("# Demo!\n")
    assert build(root, tmp_path / "out3").identifier != first.identifier


def test_the_identifier_is_author_name_version_at_checksum_and_matches_the_daemon_pattern() -> None:
    digest = "ab" * 32
    manifest = {"author": "example", "name": "demo", "version": "0.0.1"}
    assert unique_identifier(manifest, digest) == f"example/demo:0.0.1@{digest}"
    with pytest.raises(ValueError):
        unique_identifier({**manifest, "author": "Example"}, digest)
    with pytest.raises(ValueError):
        unique_identifier(manifest, "XYZ")


# ---------------------------------------------------------------- zip format


def test_the_zip_has_sorted_file_entries_only_deflated_and_no_comment(tmp_path: Path) -> None:
    root = write_plugin(tmp_path / "p")
    (root / "models" / "empty" / "deeper").mkdir(parents=True)
    built = build(root, tmp_path / "out")
    with zipfile.ZipFile(built.path) as zf:
        names = zf.namelist()
        assert names == sorted(names) == built.files
        assert not any(n.endswith("/") for n in names) and "models/empty/" not in names
        assert zf.comment == b""
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_DEFLATED}
        assert checksum((n, zf.read(n)) for n in names) == built.checksum
    assert built.path.name == "demo-0.0.1.difypkg" and built.size == built.path.stat().st_size


def test_build_refuses_an_invalid_plugin_and_writes_nothing(tmp_path: Path) -> None:
    spec = plugin_spec()
    spec[M]["author"] = "Example"
    with pytest.raises(PackageInvalid) as caught:
        build(write_plugin(tmp_path / "p", spec), tmp_path / "out")
    assert [(p.file, p.field) for p in caught.value.problems] == [(M, "author")]
    assert not (tmp_path / "out").exists()


def test_a_package_written_inside_the_plugin_must_be_ignored(tmp_path: Path) -> None:
    root = write_plugin(tmp_path)
    (root / ".difyignore").write_text("dist/\n")
    with pytest.raises(PackageInvalid) as caught:
        build(root, root / "build")
    assert [(p.file, p.field) for p in caught.value.problems] == [("build/demo-0.0.1.difypkg", "(file)")]
    assert build(root, root / "dist").path == root / "dist" / "demo-0.0.1.difypkg"


# ---------------------------------------------------------------- CLI


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The module runs from the plugin's folder, so devkit comes from the repository through PYTHONPATH.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "devkit.package", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_cli_writes_exactly_one_package_and_prints_the_identifier(tmp_path: Path) -> None:
    root = write_plugin(tmp_path)
    (root / "dist").mkdir()
    (root / "dist" / "demo-0.0.0.difypkg").write_bytes(b"old")
    assert run_cli(root, "--check").returncode == 0 and len(list((root / "dist").iterdir())) == 1
    result = run_cli(root)
    assert result.returncode == 0, result.stderr
    identifier = result.stdout.splitlines()[0]
    assert package.is_valid_identifier(identifier) and identifier.startswith("example/demo:0.0.1@")
    assert [p.name for p in (root / "dist").iterdir()] == ["demo-0.0.1.difypkg"]
    assert f"{len(collect_files(root))} files" in result.stdout


def test_cli_exits_1_with_one_line_per_problem_and_writes_nothing(tmp_path: Path) -> None:
    spec = plugin_spec()
    spec[M]["author"] = "Example"
    spec[L]["features"] = ["tool_call"]
    root = write_plugin(tmp_path, spec)
    result = run_cli(root, "--root", ".", "--out", "dist")
    assert result.returncode == 1
    assert "manifest.yaml: author: 'Example' must match" in result.stderr
    assert f"{L}: features[0]: 'tool_call' is not one of" in result.stderr
    assert result.stdout == "" and not (root / "dist").exists()


# ---------------------------------------------------------------- tables and the real repository


def test_the_rule_tables_match_the_installed_sdk() -> None:
    keys = ("type", "default", "min", "max", "precision", "options")
    templates = {k.value: {f: v[f] for f in keys if f in v} for k, v in PARAMETER_RULE_TEMPLATE.items()}
    assert templates == plugin_rules.TEMPLATES
    assert [e.value for e in ModelFeature] == list(plugin_rules.FEATURES)
    assert [e.value for e in ModelPropertyKey] == list(plugin_rules.PROPERTY_KEYS)
    assert [e.value for e in ModelType] == list(plugin_rules.MODEL_TYPES)
    assert [e.value for e in ParameterType] == list(plugin_rules.PARAM_TYPES)
    assert [e.value for e in ConfigurateMethod] == list(plugin_rules.CONFIGURATE_METHODS)
    assert [e.value for e in FormType] == list(plugin_rules.FORM_TYPES)


@pytest.mark.skipif(not (ROOT / "manifest.yaml").exists(), reason="the plugin's manifest is not written yet")
def test_the_repository_itself_packages_cleanly() -> None:
    assert [str(p) for p in validate(ROOT)] == []
