#!/usr/bin/env bash
# Writes the chorus(1) man page from the program's own --help texts:
#   packaging/make-man.sh BINARY VERSION OUT.1.gz
# (help2man formats `chorus --help`; `chorus agent --help` and the package's
# files are added as sections.)
set -euo pipefail
bin=$(readlink -f "$1")
version=$2
out=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# help2man runs the program by name, so the usage lines say "chorus", not the
# build path.
ln -s "$bin" "$work/chorus"
{
  echo "[AGENT OPTIONS]"
  echo "Every flag is also accepted with one dash (\\fB-bind=ADDR\\fR), as in Serf."
  echo ".nf"
  "$bin" agent --help | sed -n '/^Options:/,$p' | tail -n +2 | sed 's/\\/\\\\/g; s/^\./\\\&./'
  echo ".fi"
  cat "$here/chorus.h2m"
} >"$work/include.h2m"
PATH="$work:$PATH" help2man --no-info --no-discard-stderr --version-string="$version" \
  --name="cluster membership, failure detection and network coordinates (Serf 0.9 compatible)" \
  --section=1 --include="$work/include.h2m" --output="$work/chorus.1" chorus
gzip -9n -c "$work/chorus.1" >"$out"
