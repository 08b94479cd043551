#!/bin/bash
# Runs/s of one exploration made by one process and by N shards running at
# once on this machine (`ordo replay --shard K/N`, one process each), and
# whether the merged shards equal the single process (the point of sharding:
# the merge is exact; the speed-up is bounded by the cores).
# Usage: [SCRATCH=DIR] bench/shard_bench.sh [BUILD_DIR] [RUNS]  (--target under SCRATCH, default /tmp)
set -eu
ORDO=$(realpath "${1:-build}")/cli/ordo
RUNS=${2:-120}
TRACE=$(cd "$(dirname "$0")/../traces" && pwd)/fio-writer-reader.ordo
WORK=$(mktemp -d "${SCRATCH:-/tmp}/ordo-shard-bench-XXXXXX")  # SCRATCH=/dev/shm: no disk waits
trap 'rm -rf "$WORK"' EXIT
now() { date +%s%N; }
for n in 1 2 4 8; do
  mkdir -p "$WORK/$n"
  t0=$(now)
  for k in $(seq "$n"); do
    "$ORDO" replay "$TRACE" --target "$WORK/$n/t$k" --engine legacy --explore pct --seed 1 \
      --runs "$RUNS" --shard "$k/$n" --json >"$WORK/$n/shard-$k.json" &
  done
  wait || true
  t1=$(now)
  "$ORDO" report "$WORK/$n"/shard-*.json -o "$WORK/$n/merged.md" 2>/dev/null
  seeds=$(sed -n 's/^  - failing seeds: //p' "$WORK/$n/merged.md")
  [ "$n" = 1 ] && one=$seeds
  same=$([ "$seeds" = "$one" ] && echo "the same as 1 process" || echo "DIFFERENT from 1 process")
  awk -v n="$n" -v r="$RUNS" -v ns=$((t1 - t0)) -v k="$(echo "$seeds" | tr -cd , | wc -c)" -v same="$same" 'BEGIN {
    printf "%d process%s: %d runs in %.2f s = %.1f runs/s; %d failing seeds, %s\n",
      n, (n > 1 ? "es" : ""), r, ns / 1e9, r / (ns / 1e9), k + 1, same }'
done
