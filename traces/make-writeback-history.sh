#!/bin/sh
# Regenerates traces/writeback-legacy-history.ordo: the history of one run of
# the example third-party engine (examples/writeback_cache, loaded through the
# engine ABI, mode=legacy) replaying traces/fio-writer-reader.ordo under POS
# seed 1, the run in which its read-ahead race fails a read-verify. It holds
# the engine's site table and its events (kind 0x8000 + site).
# Usage: traces/make-writeback-history.sh [ORDO_BINARY] [ENGINE_SO]
set -eu
. "$(dirname "$0")/common.sh"
ENGINE=$(realpath "${2:-$HERE/../build/examples/writeback_cache/writeback_cache.so}")
cp "$ENGINE" writeback_cache.so
cp "$HERE/fio-writer-reader.ordo" .
status=0
"$ORDO" replay fio-writer-reader.ordo --target target --engine writeback_cache.so:mode=legacy \
    --explore pos --seed 1 --runs 1 --history "$HERE/writeback-legacy-history.ordo" >/dev/null || status=$?
[ "$status" -eq 1 ] || { echo "seed 1 no longer fails (exit $status): pick another seed" >&2; exit 1; }
"$ORDO" trace info "$HERE/writeback-legacy-history.ordo"
