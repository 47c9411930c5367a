"""The packager: validate the plugin the way the SDK and the Dify daemon would, then write `<name>-<version>.difypkg`
like the Dify CLI (`python -m devkit.package`, `make package`).

A pure-Python packager, so packaging needs no Go CLI, and every rule that would only bite at install or plugin start
fails here instead: files.py decides what ships, rules.py holds the declarative-file rules, and this module the
manifest, dependency and size rules, the checksum, the identifier and the zip itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tomllib
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version
from pathspec import GitIgnoreSpec

from devkit.package.files import Selection, cli_would_skip, collect_files, ignore_lines, is_ignored, select_files
from devkit.package.rules import (
    WHOLE,
    Problem,
    Tree,
    as_list,
    as_mapping,
    check_asset,
    check_enum_list,
    check_i18n,
    check_provider,
    check_str,
    is_int,
    words,
)

__all__ = [
    "Built",
    "PackageInvalid",
    "Problem",
    "Selection",
    "build",
    "checksum",
    "cli_would_skip",
    "collect_files",
    "select_files",
    "unique_identifier",
    "validate",
]

MAX_PACKAGE_SIZE = 52_428_800  # the daemon's MAX_PLUGIN_PACKAGE_SIZE: sum of uncompressed entry sizes
# Go's RE2 `\d`/`\w` are ASCII-only; Python's are Unicode unless told otherwise.
IDENTIFIER_RE = re.compile(
    r"^(?:([a-z0-9_-]{1,64})\/)?([a-z0-9_-]{1,255}):([0-9]{1,4})(\.[0-9]{1,4}){1,3}(-\w{1,16})?@[a-f0-9]{32,64}$",
    re.ASCII,
)
VERSION_RE = re.compile(r"^\d{1,4}(\.\d{1,4}){2}(-\w{1,16})?$", re.ASCII)
AUTHOR_RE = re.compile(r"^[a-z0-9_-]{1,64}$")
NAME_RE = re.compile(r"^[a-z0-9_-]{1,128}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.IGNORECASE)
RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
README_I18N_RE = re.compile(r"^README_([a-z]{2}_[A-Za-z]{2,})\.md$")
# The daemon's own regex (local_runtime/patch.go): it overwrites SDK files when the version it finds is < 0.1.1.
SDK_PIN_RE = re.compile(r"(?:dify[_-]plugin)(?:~=|==)([0-9.a-z]+)")
TAGS = words(
    "search image videos weather finance design travel social news medical productivity education business "
    "entertainment utilities agent rag other trigger"
)
OTHER_PLUGIN_KINDS = words("tools endpoints agent_strategies datasources triggers")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so identical content gives a byte-identical package


class PackageInvalid(Exception):
    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(map(str, self.problems)))


@dataclass(frozen=True)
class Built:
    path: Path
    identifier: str
    checksum: str
    files: list[str]
    size: int  # bytes of the written .difypkg
    selection: Selection  # the files, what git left out, and whether git could decide


# ---------------------------------------------------------------- files


def _forbidden(rel: str) -> str | None:
    """The offending prefix if `rel` is development state or a secret that must never ship."""
    parts = rel.split("/")
    for i, part in enumerate(parts):
        if part in (".venv", "__pycache__") or (i == 0 and part == "dist" and len(parts) > 1):
            return "/".join(parts[: i + 1]) + ("/" if i < len(parts) - 1 else "")
    # The SDK loads `.env` from its working directory at startup, so a shipped one would override settings.
    return rel if parts[-1] == ".env" or rel.endswith(".difypkg") else None


def _too_large(total: int, sizes: Iterable[tuple[str, int]]) -> str:
    top = sorted(sizes, key=lambda x: -x[1])[:5]
    listing = "; ".join(f"{i}. {path} ({size} bytes)" for i, (path, size) in enumerate(top, 1))
    return f"uncompressed total {total} bytes exceeds {MAX_PACKAGE_SIZE} (50 MiB); largest: {listing}"


def _check_files(t: Tree, files: list[str]) -> None:
    for prefix, n in Counter(p for p in map(_forbidden, files) if p).items():
        t.add(prefix, WHOLE, f"would be packaged ({n} file{'s' * (n != 1)}); add it to .difyignore")
    for rel in files:
        if "\\" in rel:
            t.add(rel, WHOLE, "has a backslash in its name; the daemon rejects such zip entries")
    sizes = [(rel, (t.root / rel).stat().st_size) for rel in files]
    total = sum(size for _, size in sizes)
    if total > MAX_PACKAGE_SIZE:
        t.add("(package)", "size", _too_large(total, sizes))
    if not any(rel.startswith("_assets/") for rel in files):
        t.add("_assets/", WHOLE, "must exist with at least one packaged file (the SDK scans it at startup)")
    for doc in ("README.md", "PRIVACY.md"):
        if t.require_file(doc, doc, WHOLE) and not (t.root / doc).read_text(encoding="utf-8", errors="replace").strip():
            t.add(doc, WHOLE, "is empty (the Marketplace requires it)")
    for rel in files:
        if rel.startswith("readme/") and not README_I18N_RE.match(rel.removeprefix("readme/")):
            t.add(rel, WHOLE, "translated READMEs must be named readme/README_<xx_YY>.md, e.g. README_ja_JP.md")


def _check_dependencies(t: Tree) -> None:
    f = "requirements.txt"
    if t.require_file(f, f, WHOLE):
        match = SDK_PIN_RE.search((t.root / f).read_text(encoding="utf-8", errors="replace"))
        if not match:
            t.add(f, "dify_plugin", "must be pinned as dify_plugin==X or ~=X (no spaces), the form the daemon parses")
        elif _version_below(match[1], "0.1.1"):
            t.add(f, "dify_plugin", f"{match[1]} is below 0.1.1; the daemon would overwrite SDK files with patches")
    if "pyproject.toml" in t.files:
        # A packaged pyproject.toml wins over requirements.txt: the daemon then runs `uv sync` on it.
        try:
            deps = tomllib.loads((t.root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
        except (tomllib.TOMLDecodeError, KeyError, TypeError):
            deps = []
        if not any(re.match(r"dify[_-]plugin\b", str(d), re.IGNORECASE) for d in deps):
            t.add(
                "pyproject.toml",
                WHOLE,
                "is packaged, so the daemon installs from it instead of requirements.txt, "
                "but [project].dependencies lacks dify_plugin; add pyproject.toml to .difyignore",
            )


def _version_below(text: str, floor: str) -> bool:
    return not _is_pep440(text) or Version(text) < Version(floor)


def _is_pep440(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


# ---------------------------------------------------------------- manifest.yaml


def check_manifest(t: Tree) -> dict:
    f = "manifest.yaml"
    if not t.require_file(f, f, WHOLE):
        return {}
    if (m := t.load_mapping(f)) is None:
        return {}
    _check_version(t, f, "version", m.get("version"))
    if m.get("type") != "plugin":
        t.add(f, "type", f"must be 'plugin', got {m.get('type')!r}")
    author = m.get("author")
    if check_str(t, f, "author", author):
        if not AUTHOR_RE.match(author):
            t.add(f, "author", f"{author!r} must match ^[a-z0-9_-]{{1,64}}$ (the daemon rejects uppercase)")
        elif UUID_RE.match(author):
            t.add(f, "author", "a UUID-shaped author is rejected by the daemon")
        elif "langgenius" in author or "dify" in author:
            t.add(f, "author", "must not contain 'langgenius' or 'dify' (reserved by the Marketplace)")
    if check_str(t, f, "name", m.get("name")) and not NAME_RE.match(m["name"]):
        t.add(f, "name", f"{m['name']!r} must match ^[a-z0-9_-]{{1,128}}$")
    check_i18n(t, f, "label", m.get("label"), max_len=1023)
    check_i18n(t, f, "description", m.get("description"))
    check_asset(t, f, "icon", m.get("icon"))
    if m.get("icon_dark") is not None:
        check_asset(t, f, "icon_dark", m["icon_dark"])
    _check_created_at(t, f, m.get("created_at"))
    res = as_mapping(t, f, "resource", m.get("resource"))
    if res and not (is_int(res.get("memory")) and 0 < res["memory"] < 2**63):
        t.add(f, "resource.memory", f"must be a positive integer (bytes), got {res.get('memory')!r}")
    _check_plugins(t, f, as_mapping(t, f, "plugins", m.get("plugins")))
    _check_meta(t, f, as_mapping(t, f, "meta", m.get("meta")))
    privacy = m.get("privacy")
    if check_str(t, f, "privacy", privacy, required=False) and not privacy.startswith(("http://", "https://")):
        t.require_file(privacy, f, "privacy")
    if m.get("repo") is not None and not (isinstance(m["repo"], str) and m["repo"].startswith(("http://", "https://"))):
        t.add(f, "repo", f"must be a URL, got {m['repo']!r}")
    check_enum_list(t, f, "tags", m.get("tags"), TAGS, required=False)
    return m


def _check_version(t: Tree, f: str, where: str, v: Any) -> None:
    if check_str(t, f, where, v) and not VERSION_RE.match(v):
        t.add(f, where, f"{v!r} does not match x.y.z[-suffix] (each part 1-4 digits)")
    elif where == "version" and isinstance(v, str) and not _is_pep440(v):
        t.add(f, where, f"{v!r} is not a PEP 440 version, which the SDK requires")


def _check_created_at(t: Tree, f: str, v: Any) -> None:
    if isinstance(v, str) and RFC3339_RE.match(v):
        v = dt.datetime.fromisoformat(v.upper())
    if not isinstance(v, dt.datetime):
        t.add(f, "created_at", f"must be an RFC3339 date-time such as 2025-01-01T00:00:00Z, got {v!r}")
    elif v.tzinfo is None:
        t.add(f, "created_at", "needs a time zone offset (RFC3339), e.g. a trailing Z")
    elif v > dt.datetime.now(dt.UTC):
        t.add(f, "created_at", f"{v.isoformat()} is in the future (the Marketplace rejects it)")


def _check_plugins(t: Tree, f: str, plugins: dict) -> None:
    models = as_list(t, f, "plugins.models", plugins.get("models"))
    if len(models) != 1:
        t.add(f, "plugins.models", f"a model plugin declares exactly one provider YAML, found {len(models)}")
    for i, p in enumerate(models):
        if check_str(t, f, f"plugins.models[{i}]", p, max_len=128):
            t.require_file(p, f, f"plugins.models[{i}]", "provider YAML")
    for kind in OTHER_PLUGIN_KINDS:
        if plugins.get(kind):
            t.add(f, f"plugins.{kind}", "a model provider cannot be combined with other plugin kinds")


def _check_meta(t: Tree, f: str, meta: dict) -> None:
    _check_version(t, f, "meta.version", meta.get("version"))
    check_enum_list(t, f, "meta.arch", meta.get("arch"), ("amd64", "arm64"))
    runner = as_mapping(t, f, "meta.runner", meta.get("runner"))
    if runner:
        if runner.get("language") != "python":
            t.add(f, "meta.runner.language", f"must be 'python', got {runner.get('language')!r}")
        if runner.get("version") is not None and not isinstance(runner["version"], str):
            t.add(f, "meta.runner.version", f'must be a quoted string such as "3.12", got {runner["version"]!r}')
        else:
            check_str(t, f, "meta.runner.version", runner.get("version"), max_len=128)
        entry = runner.get("entrypoint")
        if check_str(t, f, "meta.runner.entrypoint", entry, max_len=256):
            module = entry.replace(".", "/")  # the daemon runs `python -m <entrypoint>`
            if f"{module}/__main__.py" not in t.files:
                t.require_file(f"{module}.py", f, "meta.runner.entrypoint", "entrypoint module")
    mdv = meta.get("minimum_dify_version")
    if mdv is not None and (not isinstance(mdv, str) or not _is_pep440(mdv)):
        t.add(f, "meta.minimum_dify_version", f"{mdv!r} is not a quoted PEP 440 version")


# ---------------------------------------------------------------- public API


def validate(root: Path) -> list[Problem]:
    root = Path(root)
    return _not_a_folder(root) or _validate(root, collect_files(root))


def _not_a_folder(root: Path) -> list[Problem]:
    return [] if root.is_dir() else [Problem(str(root), WHOLE, "is not a directory")]


def _validate(root: Path, files: list[str]) -> list[Problem]:
    t = Tree(root, frozenset(files))
    _check_files(t, files)
    manifest = check_manifest(t)
    plugins = manifest.get("plugins")
    providers = plugins.get("models") if isinstance(plugins, dict) else None
    for provider in providers if isinstance(providers, list) else []:
        if isinstance(provider, str) and provider in t.files:
            check_provider(t, provider)
    _check_dependencies(t)
    return list(dict.fromkeys(t.problems))  # YAML aliases can repeat a problem verbatim


def checksum(entries: Iterable[tuple[str, bytes]]) -> str:
    """The daemon's CalculateChecksum: sha256 over, for each path in sorted order, sha256(path) || sha256(content)."""
    digests = {path: hashlib.sha256(content).digest() for path, content in entries}
    data = b"".join(hashlib.sha256(p.encode()).digest() + digests[p] for p in sorted(digests, key=str.encode))
    return hashlib.sha256(data).hexdigest()


def is_valid_identifier(identifier: str) -> bool:
    return IDENTIFIER_RE.match(identifier) is not None


def unique_identifier(manifest: Mapping[str, Any], checksum: str) -> str:
    identifier = f"{manifest.get('author')}/{manifest.get('name')}:{manifest.get('version')}@{checksum}"
    if not is_valid_identifier(identifier):
        raise ValueError(f"{identifier!r} does not match the daemon's plugin unique identifier pattern")
    return identifier


def build(root: Path, out_dir: Path) -> Built:
    root, out_dir = Path(root), Path(out_dir)
    if problems := _not_a_folder(root):
        raise PackageInvalid(problems)
    selection = select_files(root)
    files = selection.files
    if problems := _validate(root, files):
        raise PackageInvalid(problems)
    manifest = yaml.safe_load((root / "manifest.yaml").read_text(encoding="utf-8"))
    target = out_dir / f"{manifest['name']}-{manifest['version']}.difypkg"
    if problems := _unignored_output(root, target):
        raise PackageInvalid(problems)
    entries = [(rel, (root / rel).read_bytes()) for rel in files]
    digest = checksum(entries)
    identifier = unique_identifier(manifest, digest)
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = out_dir / f".{target.name}.partial"  # not *.difypkg, so a crash never leaves a bogus package
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for rel, content in entries:
                info = zipfile.ZipInfo(rel, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, content)
        _verify_zip(partial, target.name, files, digest)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    for old in out_dir.glob("*.difypkg"):
        if old.name != target.name:
            old.unlink()
    return Built(target, identifier, digest, files, target.stat().st_size, selection)


def _unignored_output(root: Path, target: Path) -> list[Problem]:
    """A package written inside the plugin must be ignored, or the next build would package the last one."""
    try:
        rel = target.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return []
    if is_ignored(GitIgnoreSpec.from_lines(ignore_lines(root)), rel):
        return []
    return [Problem(rel, WHOLE, "the package would be written inside the plugin; add its folder to .difyignore")]


def _verify_zip(path: Path, name: str, files: list[str], digest: str) -> None:
    """Re-open the written zip and check what the daemon relies on, so a zipfile quirk cannot slip through."""
    errors = []
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if [i.filename for i in infos] != files:
            errors.append("entries are not exactly the collected files in sorted order")
        if any(i.is_dir() for i in infos):
            errors.append("has directory entries")
        if zf.comment:
            errors.append("has a zip comment (unsigned packages must have none)")
        if any(i.compress_type != zipfile.ZIP_DEFLATED for i in infos):
            errors.append("has entries that are not deflated")
        total = sum(i.file_size for i in infos)
        if total > MAX_PACKAGE_SIZE:
            errors.append(_too_large(total, ((i.filename, i.file_size) for i in infos)))
        if zf.testzip() is not None or checksum((i.filename, zf.read(i)) for i in infos) != digest:
            errors.append("content read back differs from the files on disk")
    if errors:
        raise PackageInvalid(Problem(name, "(zip)", e) for e in errors)
