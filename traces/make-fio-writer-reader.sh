#!/bin/sh
# Regenerates traces/fio-writer-reader.ordo: fio 3.33, one 512 KiB file, two
# jobs: `writer` (random writes of 1-8 KiB at byte-aligned offsets) and
# `reader` (sequential reads of 3-9 KiB starting at byte-aligned offsets, so
# nearly every read starts mid-block and spans two or more blocks); each job
# writes a v3 iolog, and `ordo trace import` merges them (one thread each).
# Usage: traces/make-fio-writer-reader.sh [ORDO_BINARY]
set -eu
. "$(dirname "$0")/common.sh"
fio --output=/dev/null --ioengine=psync --filename=data --size=512k --randseed=11 \
    --name=writer --rw=randwrite --bsrange=1k-8k --blockalign=1 --write_iolog=writer.log \
    --name=reader --rw=read --bsrange=3k-9k --blockalign=1 --loops=4 --write_iolog=reader.log 2>/dev/null
"$ORDO" trace import --format fio writer.log reader.log -o "$HERE/fio-writer-reader.ordo"
