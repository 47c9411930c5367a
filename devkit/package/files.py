"""Which files the package holds: those git tracks that the ignore file allows, never the ignore file itself.

The ignore file is `.difyignore`, else `.gitignore`, as for the daemon's packager (gitignore syntax, read with
pathspec; blank and `#` lines skipped). Git's index decides the rest, so a stray file in the working tree (a key, a
local .env.prod, a scratch export) never ships by accident: it is left out and named. Outside a git checkout there is
no index, and the ignore file alone decides (`Selection.git_error` says why).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pathspec import GitIgnoreSpec

IGNORE_FILES = (".difyignore", ".gitignore")  # the first that exists applies


@dataclass(frozen=True)
class Selection:
    files: list[str]  # what the package holds: sorted posix paths relative to the plugin folder
    untracked: list[str]  # allowed by the ignore file but not tracked by git, so left out
    git_error: str | None  # why git could not decide (not a checkout, no git); None when it did


def ignore_file(root: Path) -> str | None:
    return next((name for name in IGNORE_FILES if (root / name).is_file()), None)


def ignore_lines(root: Path) -> list[str]:
    name = ignore_file(root)
    if name is None:
        return []
    lines = (line.strip() for line in (root / name).read_text(encoding="utf-8", errors="replace").split("\n"))
    return [line for line in lines if line and not line.startswith("#")]


def is_ignored(spec: GitIgnoreSpec, rel: str) -> bool:
    """Whether the ignore rules exclude `rel` or a folder above it: as in git, a file under an excluded folder cannot
    be re-included by a `!` pattern."""
    parts = rel.split("/")
    folders = ("/".join(parts[:i]) + "/" for i in range(1, len(parts)))
    return any(spec.match_file(folder) for folder in folders) or spec.match_file(rel)


def select_files(root: Path) -> Selection:
    root = Path(root)
    spec = GitIgnoreSpec.from_lines(ignore_lines(root))
    own = ignore_file(root)
    on_disk = [rel for rel in _walk(root, spec) if rel != own]
    tracked, git_error = _git_tracked(root)
    if tracked is None:
        return Selection(on_disk, [], git_error)
    files = [rel for rel in on_disk if rel in tracked]
    return Selection(files, [rel for rel in on_disk if rel not in tracked], None)


def collect_files(root: Path) -> list[str]:
    """Sorted posix paths of the files the package would contain."""
    return select_files(root).files


def _walk(root: Path, spec: GitIgnoreSpec) -> list[str]:
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if rel_dir == "." else f"{rel_dir}/"
        # Pruning excluded folders is what keeps `dir/` + `!dir/file` from re-including (and skips .venv quickly).
        dirnames[:] = [d for d in dirnames if d != ".git" and not spec.match_file(f"{prefix}{d}/")]
        for name in filenames:
            rel = prefix + name
            if name != ".git" and os.path.isfile(os.path.join(dirpath, name)) and not spec.match_file(rel):
                found.append(rel)
    return sorted(found)


def _git_tracked(root: Path) -> tuple[frozenset[str] | None, str | None]:
    """The paths git tracks under `root` (relative to it), or None and the reason when git cannot tell."""
    folders = (root.resolve(), *root.resolve().parents)
    if "GIT_DIR" not in os.environ and not any((folder / ".git").exists() for folder in folders):
        return None, "no .git in it or in a folder above it"  # what git would find; asking it costs a process
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached"], cwd=root, capture_output=True, timeout=60, check=False
        )
    except FileNotFoundError:
        return None, "git is not installed"
    except (OSError, subprocess.TimeoutExpired) as error:
        return None, f"git ls-files failed: {error}"
    if listed.returncode != 0:
        reason = listed.stderr.decode("utf-8", "replace").strip().splitlines()
        return None, reason[0] if reason else f"git ls-files exited with {listed.returncode}"
    return frozenset(os.fsdecode(path) for path in listed.stdout.split(b"\0") if path), None


def cli_would_skip(root: Path, files: Iterable[str]) -> list[str]:
    """Packaged files that `dify plugin package` would leave out: its walker ignores `!` negations."""
    specs = [GitIgnoreSpec.from_lines([line]) for line in ignore_lines(Path(root)) if not line.startswith("!")]
    return [rel for rel in files if any(is_ignored(spec, rel) for spec in specs)]
