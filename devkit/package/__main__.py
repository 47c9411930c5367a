"""`python -m devkit.package [--root .] [--out dist] [--check]`: validate the plugin and write its .difypkg.

Exit 0 prints the unique identifier `author/name:version@checksum` on the first line of stdout, then the package's
path, and on stderr every file left out because git does not track it. Exit 1 prints one `<file>: <field>: <what is
wrong>` line per problem on stderr and writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from devkit.package import PackageInvalid, Selection, build, cli_would_skip, select_files, validate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devkit.package", description="Validate the Dify plugin and write <name>-<version>.difypkg."
    )
    parser.add_argument("--root", type=Path, default=Path("."), help="plugin folder (default: .)")
    parser.add_argument("--out", type=Path, default=Path("dist"), help="output folder (default: dist)")
    parser.add_argument("--check", action="store_true", help="validate only; write nothing")
    args = parser.parse_args(argv)
    try:
        if args.check and (problems := validate(args.root)):
            raise PackageInvalid(problems)
        built = None if args.check else build(args.root, args.out)
    except PackageInvalid as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s); nothing was written", file=sys.stderr)
        return 1
    selection = built.selection if built else select_files(args.root)
    warn_about(args.root, selection)
    if built is None:
        print(f"{args.root}: no problems")
    else:
        print(built.identifier)
        print(f"{built.path}: {len(built.files)} files, {built.size} bytes")
    return 0


def warn_about(root: Path, selection: Selection) -> None:
    """On stderr: what git left out, or that git could not decide; and what the Dify CLI would package otherwise."""
    if selection.git_error is not None:
        print(f"warning: {root} is not a git checkout ({selection.git_error}): every file that .difyignore allows is "
              "packaged, tracked or not", file=sys.stderr)  # fmt: skip
    for rel in selection.untracked:
        print(f"left out: {rel}: not tracked by git (git add it to ship it)", file=sys.stderr)
    for rel in cli_would_skip(root, selection.files):
        print(f"warning: {rel}: kept by a '!' pattern, which `dify plugin package` ignores", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
