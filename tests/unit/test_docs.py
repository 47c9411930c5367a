"""README.md and docs/: the README stays short and reaches 'Configure' within a screen, its models table and error
messages are the plugin's own, and every link to a file of the repository resolves."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MANIFEST = yaml.safe_load((ROOT / "manifest.yaml").read_text(encoding="utf-8"))
REPO = MANIFEST["repo"]
DOCS = sorted((ROOT / "docs").glob("*.md"))
MARKDOWN = [ROOT / "README.md", ROOT / "PRIVACY.md", ROOT / "CHANGELOG.md", *DOCS]

MAX_README_CHARACTERS = 8000
SCREEN_LINES = 45  # what a laptop shows of a rendered Markdown page, give or take

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
QUOTE = re.compile(r'"([^"]+)"')


def section(text: str, heading: str) -> str:
    """The text under `heading` (a whole line such as '## Models') up to the next heading of the same level."""
    level = heading.split(" ")[0]
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    end = text.find(f"\n{level} ", start)
    return text[start : end if end >= 0 else len(text)]


def table(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("|")][2:]  # without the header and its rule
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return LINK.findall(text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(line.lstrip("#")) for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")}


def local_target(source: Path, link: str) -> tuple[Path, str] | None:
    """The repository file a link points to (relative, or an absolute link into the repository), and its anchor."""
    for prefix in (f"{REPO}/blob/main/", f"{REPO}/tree/main/"):
        if link.startswith(prefix):
            path, _, anchor = link.removeprefix(prefix).partition("#")
            return ROOT / path, anchor
    if re.match(r"^[a-z]+:", link):
        return None  # another site: not checked here
    path, _, anchor = link.partition("#")
    return (source.parent / path if path else source), anchor


# ---- the README ----------------------------------------------------------------------------------------------------


def test_the_readme_stays_within_about_8000_characters() -> None:
    assert len(README) <= MAX_README_CHARACTERS, f"README.md has {len(README)} characters; move depth to docs/"


def test_the_readme_reaches_configure_within_one_screen_with_the_russian_quick_start_on_the_way() -> None:
    before = README[: README.index("\n## Configure\n")]
    assert before.count("\n") + 1 <= SCREEN_LINES
    assert "Быстрый старт" in before


def test_the_readme_says_the_minimum_dify_version_of_the_manifest() -> None:
    assert f"Needs Dify {MANIFEST['meta']['minimum_dify_version']} or newer" in README


def test_the_readmes_links_are_absolute_and_its_project_links_name_the_manifests_repository() -> None:
    # Dify shows the README outside the repository, where a relative link leads nowhere.
    found = links(ROOT / "README.md")
    assert found and all(re.match(r"^https://", link) for link in found), found
    project = [link for link in found if "/blob/main/" in link or "/tree/main/" in link or "/releases" in link]
    assert project and all(link.startswith(REPO + "/") for link in project), project
    assert f"{REPO}/releases" in found
    assert REPO in (ROOT / "PRIVACY.md").read_text(encoding="utf-8")  # the contact the policy names


def test_every_docs_file_is_reachable_from_the_readme() -> None:
    # A link to a folder shows its README.md, as GitHub does.
    seen, todo = set(), [ROOT / "README.md"]
    while todo:
        page = todo.pop()
        for link in links(page):
            target = local_target(page, link)
            page_of = target and (target[0] / "README.md" if target[0].is_dir() else target[0])
            if page_of and page_of.suffix == ".md" and page_of.exists() and page_of.resolve() not in seen:
                seen.add(page_of.resolve())
                todo.append(page_of)
    assert [d.name for d in DOCS if d.resolve() not in seen] == []


# ---- the models table ----------------------------------------------------------------------------------------------

CAPABILITIES = {  # a declared feature -> the words the README's table uses for it
    "tool-call": "tools and agents",
    "structured-output": "structured output",
    "vision": "images",
    "document": "documents",
}


def model_files() -> list[dict]:
    found = []
    for folder in ("llm", "text_embedding"):
        order = yaml.safe_load((ROOT / "models" / folder / "_position.yaml").read_text(encoding="utf-8"))
        found += [yaml.safe_load((ROOT / "models" / folder / f"{m}.yaml").read_text(encoding="utf-8")) for m in order]
    return found


def test_the_readmes_models_table_lists_each_model_file_with_its_type_context_and_capabilities() -> None:
    rows = {row[0]: row for row in table(section(README, "## Models"))}
    assert list(rows) == [m["model"] for m in model_files()]
    for model in model_files():
        _, kind, context, can_do = rows[model["model"]]
        size = f"{model['model_properties']['context_size']:,}"
        if model["model_type"] == "llm":
            assert (kind, context) == ("chat", size), model["model"]
            declared = {CAPABILITIES[f] for f in model.get("features", []) if f in CAPABILITIES}
            assert set(can_do.split(", ")) == declared, model["model"]
        else:
            assert (kind, context) == ("embedding", f"{size} per text"), model["model"]


def test_the_readmes_output_limit_is_every_chat_models() -> None:
    limits = {
        rule["max"] for m in model_files() for rule in m.get("parameter_rules", []) if rule["name"] == "max_tokens"
    }
    assert len(limits) == 1
    assert f"up to {limits.pop():,} tokens" in section(README, "## Models")


def test_the_readmes_limits_are_the_ones_the_plugin_enforces() -> None:
    from models.common.settings import STREAMS_PER_SCOPE
    from models.llm.files import LIMITS, MB

    limits = section(README, "## Limits worth knowing")
    assert f"images up to {LIMITS.image_bytes // MB} MB" in limits
    assert f"documents up to {LIMITS.document_bytes // MB} MB" in limits
    assert f"audio up to {LIMITS.audio_bytes // MB} MB" in limits
    images = f"{LIMITS.images_per_message} image{'s' * (LIMITS.images_per_message != 1)}"
    assert f"{images} a message and {LIMITS.files_per_request} files a request" in limits
    personal, business = STREAMS_PER_SCOPE["GIGACHAT_API_PERS"], STREAMS_PER_SCOPE["GIGACHAT_API_B2B"]
    assert (personal, business) == (1, 10)
    assert "an individual one request at a time and a business ten" in limits


# ---- error messages ------------------------------------------------------------------------------------------------


def message_texts() -> list[str]:
    """Every string the plugin's code writes, an f-string's fields shown as `…`: what its messages are made of."""
    texts = []
    for path in (ROOT / "models").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                texts.append("".join(v.value if isinstance(v, ast.Constant) else "…" for v in node.values))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                texts.append(node.value)
    return texts


TEXTS = message_texts()
QUOTED = [
    *(("README.md", q) for row in table(section(README, "## Troubleshooting")) for q in QUOTE.findall(row[0])),
    *(
        ("docs/troubleshooting.md", q)
        for row in table(
            section((ROOT / "docs/troubleshooting.md").read_text(encoding="utf-8"), "## Messages from the plugin")
        )
        for q in QUOTE.findall(row[0])
    ),
]


def test_the_readme_explains_the_five_errors_people_hit() -> None:
    assert len(table(section(README, "## Troubleshooting"))) == 5


@pytest.mark.parametrize(("page", "quote"), QUOTED, ids=[f"{p}: {q[:40]}" for p, q in QUOTED])
def test_a_quoted_message_is_made_of_the_plugins_own_words(page: str, quote: str) -> None:
    pieces = [piece.strip() for piece in quote.split("…") if piece.strip()]
    missing = [piece for piece in pieces if not any(piece in text for text in TEXTS)]
    assert pieces and not missing, f"{page} quotes words the plugin never writes: {missing}"


# ---- links -----------------------------------------------------------------------------------------------------------

LINKS = [(page, link) for page in MARKDOWN for link in links(page) if local_target(page, link)]


@pytest.mark.parametrize(("page", "link"), LINKS, ids=[f"{p.relative_to(ROOT)}: {link}" for p, link in LINKS])
def test_every_link_to_a_repository_file_resolves(page: Path, link: str) -> None:
    target, anchor = local_target(page, link)
    assert target.exists(), f"{page.relative_to(ROOT)} links to {link}, which does not exist"
    if anchor:
        assert target.suffix == ".md" and anchor in anchors(target), f"{link}: no heading '#{anchor}'"


# A path such as `models/llm/chat.py` or tests/e2e/test_tools.py in prose (links are checked above). Only paths into a
# folder this repository has are checked, so another project's files (the SDK's tests/integration/cassettes/...) are
# left alone, and so is build output (dist/...); a glob or a placeholder (`test_primary_*.yaml`) is not a file name.
REPO_PATH = re.compile(
    r"(?<![\w/.-])((?:\w[\w.-]*|\.\w+)(?:/[\w.-]+)*/[\w.-]+\.(?:py|md|yaml|yml|txt|pem|svg|sh))(?![\w*<-])"
)
NAMED_PATHS = [
    (page, path)
    for page in MARKDOWN
    for path in sorted(set(REPO_PATH.findall(page.read_text(encoding="utf-8"))))
    if not path.startswith("dist/") and (ROOT / path).parent.is_dir()
]


@pytest.mark.parametrize(("page", "path"), NAMED_PATHS, ids=[f"{p.relative_to(ROOT)}: {q}" for p, q in NAMED_PATHS])
def test_every_repository_file_the_docs_name_exists(page: Path, path: str) -> None:
    assert (ROOT / path).exists(), f"{page.relative_to(ROOT)} names {path}, which does not exist"


# ---- PRIVACY.md --------------------------------------------------------------------------------------------------

PRIVACY = (ROOT / "PRIVACY.md").read_text(encoding="utf-8")


def test_the_privacy_policy_names_exactly_the_fields_dify_encrypts_and_those_it_keeps_as_plain_text() -> None:
    """Dify encrypts only `secret-input` fields (api/core/entities/provider_configuration.py
    `extract_secret_variables`, then `encrypter.encrypt_token`); every other field is stored as typed."""
    provider = yaml.safe_load((ROOT / "provider" / "gigachat.yaml").read_text(encoding="utf-8"))
    fields = provider["model_credential_schema"]["credential_form_schemas"]
    text = " ".join(PRIVACY.split())
    encrypted = re.search(r"\*\*Encrypted by Dify\*\*: (.*?) - \*\*", text).group(1)
    plain = re.search(r"\*\*Stored by Dify as plain text\*\*: (.*?\.) ", text).group(1)
    for field in fields:
        name = field["label"]["en_US"].split(" (")[0]
        assert (f"{name}," in encrypted or f"{name}." in encrypted) == (field["type"] == "secret-input"), name
        assert (f"{name}," in plain or f"{name}." in plain) == (field["type"] != "secret-input"), name


def test_the_privacy_policy_states_the_cap_on_remembered_failed_deletions() -> None:
    from models.llm.uploads import MAX_LEFTOVERS

    assert f"at most {MAX_LEFTOVERS:,} file ids per set of credentials" in PRIVACY


def test_the_privacy_policy_states_the_bounds_the_plugin_keeps_to() -> None:
    from models.common.bounded import MAX_ANSWER_BYTES, MiB
    from models.common.client import MAX_CACHED_CLIENTS
    from models.llm.downloads import DOWNLOAD_SECONDS
    from models.llm.files import LIMITS, MB

    text = " ".join(PRIVACY.split())
    sizes = (LIMITS.image_bytes, LIMITS.document_bytes, LIMITS.audio_bytes)
    image, document, audio = (f"{size // MB} MB" for size in sizes)
    assert f"size limit ({image} for an image, {document} for a document, {audio} for audio)" in text
    assert f"ends within {DOWNLOAD_SECONDS:.0f} seconds" in text
    assert f"at most {LIMITS.total_bytes // MB} MB of files a request" in text
    assert f"read up to {MAX_ANSWER_BYTES // MiB} MiB" in text
    assert f"(at most {MAX_CACHED_CLIENTS}, least recently used dropped first)" in text
