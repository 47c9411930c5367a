"""devkit/package/files.py: what ships is what git tracks and the ignore file allows; the ignore file itself never
ships; what git does not track is left out and named; outside a git checkout the ignore file alone decides."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from devkit.package import build, cli_would_skip, collect_files, select_files
from tests.devkit.test_package import run_cli, write_plugin
from tests.tables import table

pytestmark = pytest.mark.devkit
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def git_add_all(root: Path) -> None:
    """A checkout whose every file is tracked: `git add` puts a file in the index, which is what tracking means."""
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)


# ---------------------------------------------------------------- the ignore file (outside a git checkout)


@pytest.mark.parametrize(
    ("files", "shipped"),
    **table(
        (
            "a negation re-includes a file",
            {".difyignore": "*.md\n!README.md\n", "README.md": "r", "NOTES.md": "n"},
            ["README.md"],
        ),
        (
            "a folder pattern excludes the whole folder but not a file of the same name elsewhere",
            {".difyignore": "tests/\n", "tests/a/b.py": "", "tests/c.py": "", "src/tests": "file"},
            ["src/tests"],
        ),
        (
            "a file under an excluded folder cannot be re-included",
            {".difyignore": "docs/\n!docs/keep.md\n", "docs/keep.md": "k"},
            [],
        ),
        (
            ".gitignore applies when there is no .difyignore, and does not ship either",
            {".gitignore": "*.log\n", "a.log": "", "b.txt": ""},
            ["b.txt"],
        ),
        (
            "comments and blank lines are skipped, and .git never ships",
            {".difyignore": "# comment\n\n   \nb.txt\n", ".git/HEAD": "ref", "b.txt": "", "c.txt": ""},
            ["c.txt"],
        ),
    ),
)
def test_the_ignore_file_decides_what_ships_and_never_ships_itself(tmp_path: Path, files, shipped) -> None:
    assert collect_files(tree(tmp_path, files)) == shipped


def test_files_the_dify_cli_would_drop_because_it_ignores_negations_are_reported(tmp_path: Path) -> None:
    root = tree(tmp_path, {".difyignore": "*.md\n!README.md\n", "README.md": "r"})
    assert cli_would_skip(root, collect_files(root)) == ["README.md"]


def test_outside_a_git_checkout_every_allowed_file_ships_and_git_says_why_it_could_not_decide(tmp_path: Path) -> None:
    selection = select_files(tree(tmp_path, {".difyignore": "dist/\n", "a.py": "", "scratch.txt": ""}))
    assert selection.files == ["a.py", "scratch.txt"]
    assert selection.untracked == []
    assert selection.git_error == "no .git in it or in a folder above it"


# ---------------------------------------------------------------- git


@needs_git
def test_in_a_git_checkout_only_tracked_files_ship_and_the_untracked_are_named(tmp_path: Path) -> None:
    root = write_plugin(tmp_path / "p")
    tree(root, {"tests/test_x.py": "", ".env": "KEY=1\n"})  # tracked, but excluded by .difyignore
    git_add_all(root)
    tree(root, {"secret.key": "-----BEGIN PRIVATE KEY-----\n", "notes/todo.md": "x", "dist/old.txt": "x"})
    (root / ".difyignore").write_text((root / ".difyignore").read_text() + "tests/\n")
    built = build(root, tmp_path / "out")
    assert "secret.key" not in built.files and "notes/todo.md" not in built.files
    assert {"manifest.yaml", "main.py", "_assets/icon.svg"} <= set(built.files)
    assert not {"tests/test_x.py", ".env", ".difyignore"} & set(built.files)
    assert built.selection.untracked == ["notes/todo.md", "secret.key"]  # dist/ is ignored, so not named
    assert built.selection.git_error is None


@needs_git
def test_a_plugin_in_a_subfolder_of_a_repository_ships_paths_relative_to_the_plugin(tmp_path: Path) -> None:
    plugin = write_plugin(tmp_path / "repo" / "plugins" / "demo")
    git_add_all(tmp_path / "repo")
    tree(tmp_path / "repo", {"plugins/demo/local.txt": "x", "elsewhere.txt": "x"})
    selection = select_files(plugin)
    assert "manifest.yaml" in selection.files and "models/llm/llm.py" in selection.files
    assert selection.untracked == ["local.txt"]


@needs_git
def test_the_cli_names_what_it_left_out_and_warns_outside_a_checkout(tmp_path: Path) -> None:
    checkout = write_plugin(tmp_path / "checkout")
    git_add_all(checkout)
    (checkout / "secret.key").write_text("private\n")
    result = run_cli(checkout)
    assert result.returncode == 0, result.stderr
    assert "left out: secret.key: not tracked by git" in result.stderr
    assert "not a git checkout" not in result.stderr

    plain = write_plugin(tmp_path / "plain")
    (plain / "scratch.txt").write_text("x\n")
    result = run_cli(plain)
    assert result.returncode == 0, result.stderr
    assert "warning: . is not a git checkout" in result.stderr and "scratch.txt" not in result.stderr
