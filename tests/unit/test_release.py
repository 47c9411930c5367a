""".ci/release.py, the script the release workflow calls: run here against the repository itself, so every
`make test` rehearses a release (tag check, notes from CHANGELOG.md, `make package`)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "release.py"
MANIFEST = yaml.safe_load((ROOT / "manifest.yaml").read_text(encoding="utf-8"))
VERSION = MANIFEST["version"]


def _load_script():
    spec = importlib.util.spec_from_file_location("release_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release = _load_script()


def run(tag: str, notes: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--tag", tag, "--notes", str(notes)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_version_tag_builds_the_package_and_takes_its_notes_from_the_changelog(tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    result = run(f"v{VERSION}", notes)
    assert result.returncode == 0, result.stderr
    package = Path(result.stdout.splitlines()[-1])
    assert package == ROOT / "dist" / f"{MANIFEST['name']}-{VERSION}.difypkg"
    with zipfile.ZipFile(package) as zf:
        assert yaml.safe_load(zf.read("manifest.yaml"))["version"] == VERSION
    text = notes.read_text(encoding="utf-8")
    assert text.strip() and text.strip() in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## " not in text.split("\n", 1)[0], "the notes start with the section's body, not its heading"


def test_a_tag_that_differs_from_the_manifest_version_stops_before_anything_is_built(tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    result = run(f"v{VERSION}9", notes)
    assert result.returncode == 1
    assert f"tag 'v{VERSION}9' does not match manifest.yaml's version {VERSION}" in result.stderr
    assert result.stdout == "" and not notes.exists()


@pytest.mark.parametrize("tag", ["0.1.0", "v0.1", "release-0.1.0", "v0.1.0-rc1"])
def test_only_v_plus_the_exact_version_is_accepted(tag: str) -> None:
    with pytest.raises(release.ReleaseError, match="does not match"):
        release.check_tag(tag, "0.1.0")


CHANGELOG = """# Changelog

## [Unreleased]
- Something in progress.

## [0.2.0] - 2027-01-15
### Added
- Another model.

## [0.1.0] - Unreleased
### Added
- The first release.

## [0.0.9]

[Unreleased]: https://example.org/compare/v0.2.0...HEAD
[0.2.0]: https://example.org/releases/tag/v0.2.0
"""


@pytest.mark.parametrize(
    ("version", "notes", "date"),
    [
        pytest.param("0.2.0", "### Added\n- Another model.\n", "2027-01-15", id="ends-at-the-next-section"),
        pytest.param("0.1.0", "### Added\n- The first release.\n", "Unreleased", id="heading-without-a-date"),
    ],
)
def test_a_versions_notes_are_the_body_of_its_section(version: str, notes: str, date: str) -> None:
    assert release.changelog_section(CHANGELOG, version) == (notes, date)


def test_the_last_section_ends_at_the_link_definitions() -> None:
    changelog = CHANGELOG.replace("## [0.0.9]\n", "")
    assert release.changelog_section(changelog, "0.1.0")[0] == "### Added\n- The first release.\n"


@pytest.mark.parametrize(
    ("version", "problem"),
    [("0.3.0", "has no section '## \\[0.3.0\\]'"), ("0.0.9", "section for 0.0.9 is empty")],
)
def test_a_missing_or_empty_section_stops_the_release(version: str, problem: str) -> None:
    with pytest.raises(release.ReleaseError, match=problem):
        release.changelog_section(CHANGELOG, version)


def test_the_workflow_runs_on_version_tags_tests_first_then_this_script_then_publishes_its_output() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8"))
    assert workflow[True] == {"push": {"tags": ["v*"]}}  # PyYAML reads the key `on` as True
    assert workflow["permissions"] == {"contents": "write"}
    runs = [step.get("run", "") for step in workflow["jobs"]["release"]["steps"]]
    tests = next(i for i, run in enumerate(runs) if run.strip() == ".ci/run")
    build = next(i for i, run in enumerate(runs) if '.ci/release.py --tag "$GITHUB_REF_NAME"' in run)
    publish = next(i for i, run in enumerate(runs) if "gh release" in run)
    assert tests < build < publish
    assert "--notes dist/release-notes.md" in runs[build] and "--notes-file dist/release-notes.md" in runs[publish]
