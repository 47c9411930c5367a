#!/usr/bin/env bash
# Print the path of a Python >= 3.12, preferring 3.12 (the version Dify's daemon runs plugins with): first on PATH,
# then among pyenv's installed versions. Print nothing and exit 1 when there is none, so the Makefile can say so.
set -u
ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }
for name in python3.12 python3.13 python3.14 python3 python; do
  path=$(command -v "$name" 2>/dev/null) || continue
  # pyenv shims answer for versions that are not active; pyenv's real binaries are checked below.
  case "$path" in */.pyenv/shims/*) continue ;; esac
  if ok "$path"; then echo "$path"; exit 0; fi
done
root=${PYENV_ROOT:-$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")}
for minor in 12 13 14 15; do
  for dir in $(ls -d "$root"/versions/3."$minor".* 2>/dev/null | sort -t. -k3,3nr); do
    if [ -x "$dir/bin/python" ] && ok "$dir/bin/python"; then echo "$dir/bin/python"; exit 0; fi
  done
done
exit 1
