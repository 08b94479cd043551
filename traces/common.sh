# Sourced by the make-*.sh scripts here: sets ORDO (the ordo binary, from the
# script's first argument, default build/cli/ordo), HERE (this folder) and
# WORK (a temporary directory, removed on exit), and moves into WORK.
ORDO=$(realpath "${1:-build/cli/ordo}")
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
