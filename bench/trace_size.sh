#!/bin/sh
# Bytes per event of an imported fio log, side by side with `zstd -19` of
# fio's own text log of the same I/O. The workload: two fio jobs on one file,
# a random read/write mix and a sequential reader, both misaligned
# (--blockalign=1, sizes 512 B..12 KiB), N I/Os each.
# Usage: bench/trace_size.sh [ORDO_BINARY] [IOS_PER_JOB]
set -eu
ORDO=$(realpath "${1:-build/cli/ordo}")
IOS=${2:-50000}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
fio --output=/dev/null --ioengine=psync --blockalign=1 --bsrange=512-12k --size=256M \
    --number_ios="$IOS" --filename=data --randseed=7 \
    --name=mix --rw=randrw --rwmixread=70 --write_iolog=mix.log \
    --name=seq --rw=read --write_iolog=seq.log 2>/dev/null
cat mix.log seq.log > both.log
text=$(stat -c %s both.log)
z19=$(( $(zstd -19 -q -c mix.log | wc -c) + $(zstd -19 -q -c seq.log | wc -c) ))
"$ORDO" trace import --format fio mix.log seq.log -o t.ordo 2>/dev/null
ordo=$(stat -c %s t.ordo)
events=$("$ORDO" trace info --json t.ordo | sed -n 's/.*"events": \([0-9]*\).*/\1/p')
awk -v e="$events" -v t="$text" -v z="$z19" -v o="$ordo" 'BEGIN {
  printf "fio iolog, %d events (2 jobs, misaligned random mix + sequential)\n", e
  printf "  fio text log          %10d bytes  %6.2f bytes/event\n", t, t / e
  printf "  zstd -19 of text log  %10d bytes  %6.2f bytes/event\n", z, z / e
  printf "  .ordo (import)        %10d bytes  %6.2f bytes/event\n", o, o / e
  printf "  .ordo / zstd -19      %10.3f  (goal <= 0.80)\n", o / z
}'
