#!/bin/sh
# Minimization of the committed failing traces (the fio-derived one and the
# two loadgen captures) to their smallest failing form: operations kept,
# replay runs used, time; then how often each strategy reproduces FPRE004 on
# the loadgen capture (60 seeds each). Usage: bench/minimize_bench.sh [BUILD_DIR]
set -eu
ORDO=$(realpath "${1:-build}")/cli/ordo
T=$(cd "$(dirname "$0")/../traces" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$ORDO" minimize "$T/fio-writer-reader.ordo" --engine legacy --seed 1000 -o "$WORK/a.ordo" | head -1 || true
"$ORDO" minimize "$T/loadgen-a.ordo" --engine legacy --seed 12 -o "$WORK/b.ordo" | head -1 || true
"$ORDO" minimize "$T/loadgen-b.ordo" --engine legacy --rule FPRE004-B --explore random --seed 15 --time 2m -o "$WORK/c.ordo" | head -1 || true
for cfg in "--explore pct --depth 10" "--explore pct --depth 100" "--explore random" "--explore none"; do
  printf 'loadgen-a.ordo, legacy, %-26s ' "$cfg:"
  "$ORDO" replay "$T/loadgen-a.ordo" --target "$WORK/lab" --engine legacy --runs 60 $cfg --json |
    sed -n 's/^  "failures": \([0-9]*\),/FPRE004 in \1 of 60 runs/p' || true
done
