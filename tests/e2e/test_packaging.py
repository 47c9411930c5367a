"""`make package` as a new user runs it: in a fresh checkout of this repository with a stray file in the tree, the
package holds exactly the plugin, and the stray file is named as left out."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from devkit import ROOT

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout"),
]


@pytest.fixture
def fresh_checkout(tmp_path: Path) -> Path:
    """This repository as a clone of it would be: every tracked file, in a checkout of its own."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    checkout = tmp_path / "checkout"
    for rel in filter(None, listed.decode().split("\0")):
        if (ROOT / rel).is_file():
            (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, checkout / rel)
    subprocess.run(["git", "init", "-q"], cwd=checkout, check=True)
    subprocess.run(["git", "add", "-A"], cwd=checkout, check=True)
    return checkout


def test_a_stray_untracked_secret_key_never_reaches_the_package(fresh_checkout: Path) -> None:
    (fresh_checkout / "secret.key").write_text("-----BEGIN PRIVATE KEY-----\nnot for Dify\n")
    (fresh_checkout / "models" / "scratch.py").write_text("API_KEY = 'not for Dify either'\n")
    command = [sys.executable, "-m", "devkit.package", "--root", ".", "--out", "dist"]  # what `make package` runs
    result = subprocess.run(command, cwd=fresh_checkout, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    (package,) = (fresh_checkout / "dist").glob("*.difypkg")
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
    assert "secret.key" not in names and "models/scratch.py" not in names
    assert "left out: secret.key: not tracked by git" in result.stderr
    assert "left out: models/scratch.py: not tracked by git" in result.stderr
    # The plugin and nothing of the development kit: no tests, no devkit, no ignore file.
    assert {"manifest.yaml", "main.py", "provider/gigachat.yaml", "requirements.txt"} <= set(names)
    assert not [n for n in names if n.startswith(("tests/", "devkit/")) or n == ".difyignore"]
