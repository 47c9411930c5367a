"""Prepare a GitHub release from a version tag: check the tag, take the notes from CHANGELOG.md, build the package.

    .venv/bin/python .ci/release.py --tag v0.1.0 [--notes dist/release-notes.md] [--root .]

The release workflow (.github/workflows/release.yml) runs this after the tests, and tests/unit/test_release.py runs
it against the repository, so a release is rehearsed by every `make test`. In order, and stopping at the first
problem (exit 1, one line on stderr saying what to change):

1. the tag must be `v` + manifest.yaml's `version`, so the package a user downloads is the version it says it is;
2. CHANGELOG.md must have a non-empty section for that version; its body becomes the release notes;
3. `make package` builds the package, as a developer would, and `dist/<name>-<version>.difypkg` must be there.

Prints the package's path on the last line of stdout.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import yaml

# A Keep a Changelog heading: "## [0.1.0] - 2026-12-01", "## [0.1.0]", or "## 0.1.0 - ...".
HEADING = re.compile(r"^## \[?(?P<version>[^\]\s]+)\]?(?:\s+-\s+(?P<date>.*?))?\s*$")
LINK_DEFINITION = re.compile(r"^\[[^\]]+\]:\s")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ReleaseError(Exception):
    """Something to fix before this tag can be released; the message says what."""


def manifest_of(root: Path) -> dict:
    manifest = yaml.safe_load((root / "manifest.yaml").read_text(encoding="utf-8"))
    if not isinstance(manifest, dict) or not manifest.get("version") or not manifest.get("name"):
        raise ReleaseError("manifest.yaml has no name or version")
    return manifest


def check_tag(tag: str, version: str) -> None:
    if tag != f"v{version}":
        raise ReleaseError(
            f"tag {tag!r} does not match manifest.yaml's version {version}: "
            f"tag the release v{version}, or change the version in manifest.yaml"
        )


def changelog_section(changelog: str, version: str) -> tuple[str, str | None]:
    """The body of `version`'s section (without its heading) and the date its heading gives, if any."""
    body: list[str] | None = None
    date = None
    for line in changelog.splitlines():
        heading = HEADING.match(line)
        if body is None:
            if heading and heading["version"] == version:
                body, date = [], heading["date"]
            continue
        if heading or LINK_DEFINITION.match(line):
            break
        body.append(line)
    if body is None:
        raise ReleaseError(f"CHANGELOG.md has no section '## [{version}]'; add one with the changes of this version")
    notes = "\n".join(body).strip()
    if not notes:
        raise ReleaseError(f"CHANGELOG.md's section for {version} is empty; list the changes of this version")
    return notes + "\n", date


def build_package(root: Path, manifest: dict) -> Path:
    """`make package`, the one way the project builds its package, whatever script is behind it."""
    result = subprocess.run(["make", "--no-print-directory", "-s", "-C", str(root), "package"], check=False)
    if result.returncode != 0:
        raise ReleaseError(f"`make package` failed (exit {result.returncode}); its output above says why")
    package = root / "dist" / f"{manifest['name']}-{manifest['version']}.difypkg"
    if not package.is_file():
        raise ReleaseError(f"`make package` did not write {package.relative_to(root)}")
    return package


def release(tag: str, root: Path, notes_path: Path) -> Path:
    manifest = manifest_of(root)
    version = str(manifest["version"])
    check_tag(tag, version)
    notes, date = changelog_section((root / "CHANGELOG.md").read_text(encoding="utf-8"), version)
    if not (date and ISO_DATE.match(date)):
        print(f"warning: CHANGELOG.md's heading for {version} gives no release date (YYYY-MM-DD)", file=sys.stderr)
    package = build_package(root, manifest)
    notes_path.parent.mkdir(parents=True, exist_ok=True)
    notes_path.write_text(notes, encoding="utf-8")
    return package


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=".ci/release.py", description=__doc__.split("\n")[0])
    parser.add_argument("--tag", required=True, help="the version tag being released, e.g. v0.1.0")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1], help="the repository")
    parser.add_argument("--notes", type=Path, help="where to write the release notes (default: dist/release-notes.md)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        package = release(args.tag, root, args.notes or root / "dist" / "release-notes.md")
    except ReleaseError as error:
        print(f"release: {error}", file=sys.stderr)
        return 1
    print(package)
    return 0


if __name__ == "__main__":
    sys.exit(main())
