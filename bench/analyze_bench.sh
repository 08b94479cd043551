#!/bin/sh
# Analyze throughput on synthetic histories of 1 M, 10 M and 100 M events
# (goal: >= 10 M events/s, linear, RSS flat). Usage: bench/analyze_bench.sh [BUILD_DIR]
set -eu
B=$(realpath "${1:-build}")/bench/analyze_bench
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for n in 1000000 10000000 100000000; do
  "$B" write $n "$WORK/h.ordo"
  printf '%10d events, %s: ' $n "$(du -h "$WORK/h.ordo" | cut -f1)"
  "$B" run "$WORK/h.ordo"
done
