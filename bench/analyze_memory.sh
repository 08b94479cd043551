#!/bin/sh
# Peak memory of `ordo analyze` on a hostile history: 10,000 threads whose
# vector clocks are all dense, over 20,000 blocks, in ~200 KB of trace
# (issue 11). Before the analysis limits this took about threads x blocks x 4
# bytes; now analyze refuses it (exit 2, naming the limit) within its
# documented bound; the last line lifts both limits (the analysis as it was).
# Usage: bench/analyze_memory.sh [BUILD_DIR] [ORDO_BINARY]
set -eu
BUILD=$(realpath "${1:-build}")
ORDO=${2:-$BUILD/cli/ordo}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$BUILD/bench/analyze_bench" hostile 10000 20000 "$WORK/hostile.ordo"
printf 'history: %s bytes\n' "$(stat -c %s "$WORK/hostile.ordo")"
for args in "" "--max-threads 20000 --max-memory 256M" "--max-threads 20000" \
  "--max-threads 20000 --max-memory 100G"; do
  set +e
  /usr/bin/time -f '%M KiB max RSS, %e s' -o "$WORK/time" "$ORDO" analyze "$WORK/hostile.ordo" $args \
    >/dev/null 2>"$WORK/err"
  code=$?
  set -e
  printf 'ordo analyze %s: exit %d, %s\n  %s\n' "${args:-(defaults)}" $code "$(tail -1 "$WORK/time")" \
    "$(grep -v 'max RSS' "$WORK/err" | head -1)"
done
