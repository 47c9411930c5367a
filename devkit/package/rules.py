"""Declarative-file rules of a Dify model-provider plugin: the strictest of the SDK (dify_plugin 0.10.2) and the daemon.

Each rule reports `Problem(file, field, message)` instead of raising, so one run lists everything that is wrong.
The tables are copied from the SDK rather than imported: importing dify_plugin monkey-patches the whole process with
gevent, which a packaging tool must not do (tests cross-check the copies against the installed SDK).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

LOCALES = ("en_US", "zh_Hans", "ja_JP", "pt_BR")


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


MODEL_TYPES = words("llm text-embedding rerank speech2text moderation tts text2img")
# Provider `models:` keys use underscores where model YAMLs use the ModelType value.
MODEL_KEYS = {k: k.replace("_", "-") for k in words("llm text_embedding rerank tts speech2text moderation")}
CONFIGURATE_METHODS = ("predefined-model", "customizable-model")
FORM_TYPES = words("text-input secret-input select radio switch")
FORM_KEYS = words("variable label type required default options placeholder max_length show_on help url")
FEATURES = words(
    "tool-call multi-tool-call agent-thought vision stream-tool-call document video audio structured-output polling"
)
PROPERTY_KEYS = words(
    "mode context_size max_chunks file_upload_limit supported_file_extensions max_characters_per_chunk "
    "default_voice voices word_limit audio_type max_workers"
)
MODEL_YAML_KEYS = words(
    "model label model_type features fetch_from model_properties deprecated parameter_rules pricing"
)
RULE_KEYS = words("name use_template label type help required default min max precision options")
PARAM_TYPES = words("float int string boolean text")
# dify_plugin PARAMETER_RULE_TEMPLATE, minus label/help: a rule using a template inherits every key it leaves out.
TEMPLATES: dict[str, dict[str, Any]] = {
    "temperature": {"type": "float", "default": 0.0, "min": 0.0, "max": 1.0, "precision": 2},
    "top_p": {"type": "float", "default": 1.0, "min": 0.0, "max": 1.0, "precision": 2},
    "top_k": {"type": "int", "default": 50, "min": 1, "max": 100, "precision": 0},
    "presence_penalty": {"type": "float", "default": 0.0, "min": 0.0, "max": 1.0, "precision": 2},
    "frequency_penalty": {"type": "float", "default": 0.0, "min": 0.0, "max": 1.0, "precision": 2},
    "max_tokens": {"type": "int", "default": 64, "min": 1, "max": 2048, "precision": 0},
    "response_format": {"type": "string", "options": ["JSON", "XML"]},
    "json_schema": {"type": "text"},
}
WHOLE = "(file)"  # field label for problems about a file as a whole


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


@dataclass
class Tree:
    """The plugin folder as the package will contain it: `files` are the packaged paths, not what is on disk."""

    root: Path
    files: frozenset[str]
    problems: list[Problem] = field(default_factory=list)

    def add(self, file: str, where: str, message: str) -> None:
        self.problems.append(Problem(file, where, message))

    def require_file(self, rel: str, file: str, where: str, what: str = "file") -> bool:
        if rel in self.files:
            return True
        on_disk = (self.root / rel).is_file()
        self.add(file, where, f"{what} {rel!r} " + ("is excluded by .difyignore" if on_disk else "does not exist"))
        return False

    def load_yaml(self, rel: str) -> Any:
        try:
            return yaml.load((self.root / rel).read_text(encoding="utf-8"), Loader=_StrictLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            self.add(rel, "(yaml)", " ".join(str(exc).split()))
            return None

    def load_mapping(self, rel: str) -> dict | None:
        before = len(self.problems)
        data = self.load_yaml(rel)
        if len(self.problems) == before and not isinstance(data, dict):
            self.add(rel, "(document)", f"must be a YAML mapping, got {data!r}")
        return data if isinstance(data, dict) else None


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys: Go's yaml.v3 refuses them, PyYAML would silently keep the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def go_match(pattern: str, path: str) -> bool:
    """Go filepath.Match: `*` never crosses `/`, so both sides must have the same number of segments."""
    parts, names = pattern.split("/"), path.split("/")
    return len(parts) == len(names) and all(
        fnmatch.fnmatchcase(n, p.replace("[^", "[!")) for p, n in zip(parts, names, strict=True)
    )


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def check_str(t: Tree, file: str, where: str, v: Any, *, required: bool = True, max_len: int = 0) -> bool:
    if v is None:
        if required:
            t.add(file, where, "is required")
        return False
    if not isinstance(v, str) or not v.strip():
        t.add(file, where, f"must be a non-empty string, got {v!r}")
        return False
    if max_len and len(v) > max_len:
        t.add(file, where, f"is {len(v)} characters long, the limit is {max_len}")
        return False
    return True


def check_i18n(t: Tree, file: str, where: str, v: Any, *, required: bool = True, max_len: int = 0) -> None:
    if v is None:
        if required:
            t.add(file, where, "is required (an I18n mapping with en_US)")
        return
    if not isinstance(v, dict):
        t.add(file, where, f"must be an I18n mapping like {{en_US: ...}}, got {v!r}")
        return
    for key, text in v.items():
        if key not in LOCALES:
            t.add(file, f"{where}.{key}", f"unsupported locale: Dify keeps only {', '.join(LOCALES)} and drops it")
        else:
            check_str(t, file, f"{where}.{key}", text, max_len=max_len)
    if "en_US" not in v:
        t.add(file, f"{where}.en_US", "is required")


def as_mapping(t: Tree, file: str, where: str, v: Any, *, required: bool = True) -> dict:
    if v is None and not required:
        return {}
    if not isinstance(v, dict):
        t.add(file, where, "is required (a mapping)" if v is None else f"must be a mapping, got {v!r}")
        return {}
    return v


def as_list(t: Tree, file: str, where: str, v: Any, *, required: bool = True, limit: int = 0) -> list:
    if v is None and not required:
        return []
    if not isinstance(v, list):
        t.add(file, where, "is required (a list)" if v is None else f"must be a list, got {v!r}")
        return []
    if limit and len(v) > limit:
        t.add(file, where, f"has {len(v)} items, the limit is {limit}")
    return v


def each_mapping(t: Tree, file: str, where: str, items: list, fields: str = "") -> Iterator[tuple[str, dict]]:
    """(`where[i]`, item) for every mapping in `items`; any other item is reported, naming the fields it needs."""
    for i, item in enumerate(items):
        if isinstance(item, dict):
            yield f"{where}[{i}]", item
        else:
            t.add(file, f"{where}[{i}]", f"must be a mapping{' with ' + fields if fields else ''}, got {item!r}")


def check_entry(t: Tree, file: str, w: str, item: dict, kind: str, known: tuple[str, ...], seen: set[str]) -> None:
    """What every declared entry (a form field, a parameter rule) must be: no field outside `known` (the first one is
    its name), and a name not in `seen`, the names of the entries before it."""
    for extra in sorted(set(item) - set(known), key=str):
        t.add(file, f"{w}.{extra}", f"is not a {kind} field (typo?)")
    name = item.get(known[0])
    if check_str(t, file, f"{w}.{known[0]}", name, max_len=255):
        if name in seen:
            t.add(file, f"{w}.{known[0]}", f"{name!r} is declared twice")
        seen.add(name)


def check_enum_list(t: Tree, file: str, where: str, v: Any, allowed: tuple, *, required: bool = True, limit: int = 0):
    items = as_list(t, file, where, v, required=required, limit=limit)
    if required and isinstance(v, list) and not v:
        t.add(file, where, "must not be empty")
    for i, item in enumerate(items):
        if item not in allowed:
            t.add(file, f"{where}[{i}]", f"{item!r} is not one of {', '.join(allowed)}")
        elif items.index(item) != i:
            t.add(file, f"{where}[{i}]", f"{item!r} is listed twice")
    return items


def check_asset(t: Tree, file: str, where: str, name: Any) -> None:
    if check_str(t, file, where, name, max_len=128):
        t.require_file(f"_assets/{name}", file, where, "icon")


# ---------------------------------------------------------------- provider YAML


def check_provider(t: Tree, f: str) -> None:
    if (p := t.load_mapping(f)) is None:
        return
    check_str(t, f, "provider", p.get("provider"), max_len=255)
    check_i18n(t, f, "label", p.get("label"))
    check_i18n(t, f, "description", p.get("description"), required=False)
    for key in ("icon_small", "icon_large", "icon_small_dark", "icon_large_dark"):
        icons = as_mapping(t, f, key, p.get(key), required=False)
        for loc, name in icons.items():
            if loc not in LOCALES:
                t.add(f, f"{key}.{loc}", f"unsupported locale: use {', '.join(LOCALES)}")
            elif name:
                check_asset(t, f, f"{key}.{loc}", name)
    if p.get("help") is not None:
        h = as_mapping(t, f, "help", p["help"])
        check_i18n(t, f, "help.title", h.get("title"))
        check_i18n(t, f, "help.url", h.get("url"))
    types = check_enum_list(t, f, "supported_model_types", p.get("supported_model_types"), MODEL_TYPES, limit=16)
    methods = check_enum_list(t, f, "configurate_methods", p.get("configurate_methods"), CONFIGURATE_METHODS, limit=16)
    if p.get("provider_credential_schema") is not None:
        pcs = as_mapping(t, f, "provider_credential_schema", p["provider_credential_schema"])
        _check_forms(t, f, "provider_credential_schema.credential_form_schemas", pcs.get("credential_form_schemas"))
    if p.get(base := "model_credential_schema") is not None:
        mcs = as_mapping(t, f, base, p[base])
        model = as_mapping(t, f, f"{base}.model", mcs.get("model"))
        check_i18n(t, f, f"{base}.model.label", model.get("label"))
        check_i18n(t, f, f"{base}.model.placeholder", model.get("placeholder"), required=False)
        # Dify's model form carries the model type as the pseudo-variable `__model_type`.
        forms = mcs.get("credential_form_schemas")
        _check_forms(t, f, f"{base}.credential_form_schemas", forms, extra_vars={"__model_type"})
    elif "customizable-model" in methods:
        t.add(f, "model_credential_schema", "is required when configurate_methods has customizable-model")
    models = as_mapping(t, f, "models", p.get("models"), required=False)
    if "predefined-model" in methods and not models:
        t.add(f, "models", "is required when configurate_methods has predefined-model")
    _check_models(t, f, models, types)
    extra = as_mapping(t, f, "extra", p.get("extra"))
    py = as_mapping(t, f, "extra.python", extra.get("python")) if extra else {}
    if check_str(t, f, "extra.python.provider_source", py.get("provider_source")):
        _py_source(t, f, "extra.python.provider_source", py["provider_source"])
    for i, src in enumerate(as_list(t, f, "extra.python.model_sources", py.get("model_sources"), required=False)):
        if check_str(t, f, f"extra.python.model_sources[{i}]", src):
            _py_source(t, f, f"extra.python.model_sources[{i}]", src)


def _py_source(t: Tree, f: str, where: str, src: str) -> None:
    if not src.endswith(".py"):
        t.add(f, where, f"{src!r} must be a .py file")
    else:
        t.require_file(src, f, where, "source")


def _check_forms(t: Tree, f: str, base: str, forms: Any, extra_vars: frozenset | set = frozenset()) -> None:
    forms = as_list(t, f, base, forms, limit=32)
    variables = (x.get("variable") for x in forms if isinstance(x, dict))
    known = {v for v in variables if isinstance(v, str)} | set(extra_vars)
    seen: set[str] = set()
    for w, item in each_mapping(t, f, base, forms):
        check_entry(t, f, w, item, "credential form", FORM_KEYS, seen)
        check_i18n(t, f, f"{w}.label", item.get("label"))
        kind = item.get("type")
        if kind not in FORM_TYPES:
            t.add(f, f"{w}.type", f"{kind!r} is not one of {', '.join(FORM_TYPES)}")
        if "required" not in item:
            t.add(f, f"{w}.required", "must be written explicitly: the SDK defaults to true, Dify to false")
        elif not isinstance(item["required"], bool):
            t.add(f, f"{w}.required", f"must be true or false, got {item['required']!r}")
        values = _check_options(t, f, w, item, known) if kind in ("select", "radio") else None
        default = item.get("default")
        if default is not None:
            if not isinstance(default, str):
                t.add(f, f"{w}.default", f"must be a quoted string (the SDK crashes on {default!r})")
            elif len(default) > 255:
                t.add(f, f"{w}.default", "is longer than 255 characters")
            elif values is not None and default not in values:
                t.add(f, f"{w}.default", f"{default!r} is not one of the option values")
            elif kind == "switch" and default not in ("true", "false"):
                t.add(f, f"{w}.default", f'a switch default is "true" or "false", got {default!r}')
        check_i18n(t, f, f"{w}.placeholder", item.get("placeholder"), required=False)
        if item.get("max_length") is not None and not (is_int(item["max_length"]) and item["max_length"] >= 0):
            t.add(f, f"{w}.max_length", f"must be a non-negative integer, got {item['max_length']!r}")
        _check_show_on(t, f, f"{w}.show_on", item.get("show_on"), known)


def _check_options(t: Tree, f: str, w: str, item: dict, known: set) -> set[str]:
    options = as_list(t, f, f"{w}.options", item.get("options"), limit=128)
    if not options and isinstance(item.get("options"), list):
        t.add(f, f"{w}.options", "a select/radio needs at least one option")
    values: set[str] = set()
    for ow, opt in each_mapping(t, f, f"{w}.options", options, "value and label"):
        value = opt.get("value")
        if not isinstance(value, str) or not value or len(value) > 255:
            t.add(f, f"{ow}.value", f"must be a non-empty quoted string (< 256 chars), got {value!r}")
        elif value in values:
            t.add(f, f"{ow}.value", f"{value!r} appears twice")
        else:
            values.add(value)
        check_i18n(t, f, f"{ow}.label", opt.get("label"))
        _check_show_on(t, f, f"{ow}.show_on", opt.get("show_on"), known)
    return values


def _check_show_on(t: Tree, f: str, w: str, show_on: Any, known: set) -> None:
    for cw, cond in each_mapping(t, f, w, as_list(t, f, w, show_on, required=False, limit=16), "variable and value"):
        if not isinstance(cond.get("variable"), str) or cond["variable"] not in known:
            t.add(f, f"{cw}.variable", f"{cond.get('variable')!r} is not a variable of this form")
        if not isinstance(cond.get("value"), str):
            t.add(f, f"{cw}.value", f"must be a quoted string, got {cond.get('value')!r}")


def _check_models(t: Tree, f: str, models: dict, types: list) -> None:
    packaged = sorted(t.files)
    for key, spec in models.items():
        w = f"models.{key}"
        if key not in MODEL_KEYS:
            t.add(f, w, f"unknown model type key; use one of {', '.join(MODEL_KEYS)}")
            continue
        if MODEL_KEYS[key] not in types:
            t.add(f, w, f"{MODEL_KEYS[key]!r} is not in supported_model_types")
        spec = as_mapping(t, f, w, spec)
        ids: dict[str, str] = {}
        seen: set[str] = set()
        for i, pattern in enumerate(as_list(t, f, f"{w}.predefined", spec.get("predefined"))):
            if not check_str(t, f, f"{w}.predefined[{i}]", pattern):
                continue
            # The daemon skips *_position.yaml when matching; everything else matched must be a model YAML.
            hits = [p for p in packaged if go_match(pattern, p) and not p.endswith("_position.yaml")]
            if not hits:
                t.add(f, f"{w}.predefined[{i}]", f"{pattern!r} matches no packaged model YAML")
            for rel in (h for h in hits if h not in seen):
                seen.add(rel)
                model_id = check_model_yaml(t, rel, MODEL_KEYS[key])
                if model_id in ids:
                    t.add(rel, "model", f"{model_id!r} is also declared by {ids[model_id]}")
                elif model_id is not None:
                    ids[model_id] = rel
        position = spec.get("position")
        wanted = "predefined" in spec or position is not None
        if wanted and check_str(t, f, f"{w}.position", position) and t.require_file(position, f, f"{w}.position"):
            _check_position(t, position, ids)


def _check_position(t: Tree, rel: str, ids: dict[str, str]) -> None:
    before = len(t.problems)
    order = t.load_yaml(rel)
    if len(t.problems) > before:
        return
    if not isinstance(order, list):
        t.add(rel, "(list)", f"must be a YAML list of model ids, got {order!r}")
        return
    listed: set[str] = set()
    for i, model_id in enumerate(order):
        if not isinstance(model_id, str):
            t.add(rel, f"[{i}]", f"must be a string model id, got {model_id!r}")
        elif model_id in listed:
            t.add(rel, f"[{i}]", f"{model_id!r} is listed twice")
        elif model_id not in ids:
            t.add(rel, f"[{i}]", f"{model_id!r} is not the model id of any predefined YAML of this type")
        if isinstance(model_id, str):
            listed.add(model_id)
    for model_id in sorted(set(ids) - listed):
        t.add(rel, "(list)", f"{model_id!r} ({ids[model_id]}) is not listed")


# ---------------------------------------------------------------- model YAMLs


def check_model_yaml(t: Tree, f: str, model_type: str) -> str | None:
    """Check one model YAML and return its model id (None if it has none)."""
    if (m := t.load_mapping(f)) is None:
        return None
    for key in sorted(set(m) - set(MODEL_YAML_KEYS), key=str):
        t.add(f, str(key), "is not a model YAML field (typo?)")
    model_id = m.get("model")
    if not check_str(t, f, "model", model_id, max_len=255):
        model_id = None
    elif Path(f).stem != model_id:
        t.add(f, "model", f"{model_id!r} differs from the file name {Path(f).name!r}")
    check_i18n(t, f, "label", m.get("label"), required=False)
    if m.get("model_type") != model_type:
        t.add(f, "model_type", f"must be {model_type!r} for this folder, got {m.get('model_type')!r}")
    check_enum_list(t, f, "features", m.get("features"), FEATURES, required=False)
    if m.get("fetch_from") not in (None, *CONFIGURATE_METHODS):
        t.add(f, "fetch_from", f"{m['fetch_from']!r} is not one of {', '.join(CONFIGURATE_METHODS)}")
    if m.get("deprecated") is not None and not isinstance(m["deprecated"], bool):
        t.add(f, "deprecated", "must be true or false")
    _check_properties(t, f, m.get("model_properties"), model_type)
    names: set[str] = set()
    rules = as_list(t, f, "parameter_rules", m.get("parameter_rules"), required=False, limit=128)
    for w, rule in each_mapping(t, f, "parameter_rules", rules):
        _check_rule(t, f, w, rule, names)
    if m.get("pricing") is not None:
        _check_pricing(t, f, as_mapping(t, f, "pricing", m["pricing"]))
    return model_id


def _check_properties(t: Tree, f: str, props: Any, model_type: str) -> None:
    if not isinstance(props, dict):
        t.add(f, "model_properties", "is required by the SDK (a mapping, may be {})")
        return
    for key in props:
        if key not in PROPERTY_KEYS:
            t.add(f, f"model_properties.{key}", "is not a model property the SDK knows (it refuses to start)")
    needed = {"llm": ("context_size",), "text-embedding": ("context_size", "max_chunks")}.get(model_type, ())
    for key in needed:
        v = props.get(key)
        if not (is_int(v) and v > 0):
            t.add(f, f"model_properties.{key}", f"must be a positive integer, got {v!r}")
    if model_type == "llm" and props.get("mode") not in ("chat", "completion"):
        t.add(f, "model_properties.mode", f"must be chat or completion, got {props.get('mode')!r}")


def _check_rule(t: Tree, f: str, w: str, rule: dict, names: set[str]) -> None:
    check_entry(t, f, w, rule, "parameter rule", RULE_KEYS, names)
    template = rule.get("use_template")
    if template is not None and (not isinstance(template, str) or template not in TEMPLATES):
        t.add(f, f"{w}.use_template", f"{template!r} is not one of {', '.join(TEMPLATES)}")
        template = None
    # The SDK does template.copy().update(rule): every key the rule leaves out comes from the template.
    r = {**TEMPLATES.get(template, {}), **rule}
    check_i18n(t, f, f"{w}.label", rule.get("label"), required=template is None)
    check_i18n(t, f, f"{w}.help", rule.get("help"), required=False)
    kind = r.get("type")
    if kind not in PARAM_TYPES:
        t.add(f, f"{w}.type", f"{kind!r} is not one of {', '.join(PARAM_TYPES)}")
        kind = "string" if isinstance(kind, str) else None
    if r.get("required") is not None and not isinstance(r["required"], bool):
        t.add(f, f"{w}.required", "must be true or false")
    if r.get("precision") is not None and not (is_int(r["precision"]) and r["precision"] >= 0):
        t.add(f, f"{w}.precision", f"must be a non-negative integer, got {r['precision']!r}")
    lo, hi, default = r.get("min"), r.get("max"), r.get("default")
    for key, v in (("min", lo), ("max", hi)):
        if v is not None and not is_num(v):
            t.add(f, f"{w}.{key}", f"must be a number, got {v!r}")
    if default is not None and kind and not _FITS.get(kind, lambda v: isinstance(v, str))(default):
        t.add(f, f"{w}.default", f"{default!r} does not fit type {kind!r}")
    elif is_num(default):
        if is_num(lo) and default < lo:
            t.add(f, f"{w}.default", f"{default!r} is below min {lo!r}" + _inherited(rule, "min", template))
        if is_num(hi) and default > hi:
            t.add(f, f"{w}.default", f"{default!r} is above max {hi!r}" + _inherited(rule, "max", template))
    if is_num(lo) and is_num(hi) and lo > hi:
        t.add(f, f"{w}.min", f"{lo!r} is above max {hi!r}" + _inherited(rule, "max", template))
    options = r.get("options")
    if options is not None:
        if not isinstance(options, list) or not all(isinstance(o, str) and 0 < len(o) < 256 for o in options):
            t.add(f, f"{w}.options", f"must be a list of quoted strings, got {options!r}")
        elif default is not None and default not in options:
            t.add(f, f"{w}.default", f"{default!r} is not one of the options {options!r}")


_FITS = {"int": is_int, "float": is_num, "boolean": lambda v: isinstance(v, bool)}


def _inherited(rule: dict, key: str, template: str | None) -> str:
    return f" (inherited from template {template!r}; set {key} explicitly)" if template and key not in rule else ""


def _check_pricing(t: Tree, f: str, pricing: dict) -> None:
    for key in ("input", "output", "unit"):
        v = pricing.get(key)
        if v is None:
            if key != "output":
                t.add(f, f"pricing.{key}", "is required")
            continue
        try:
            ok = isinstance(v, str) and Decimal(v).is_finite() and Decimal(v) >= 0
        except InvalidOperation:
            ok = False
        if not ok:
            t.add(f, f"pricing.{key}", f"must be a quoted non-negative decimal such as '0.50', got {v!r}")
    check_str(t, f, "pricing.currency", pricing.get("currency"))
