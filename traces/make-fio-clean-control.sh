#!/bin/sh
# Regenerates traces/fio-clean-control.ordo: the control that must produce no
# finding. fio 3.33 on one 512 KiB file, two readers and no writer: one
# sequential with byte-aligned offsets (bursts across blocks, so prefetch
# runs) and one random; with no writes nothing is locked and nothing is
# compacted, so neither FPRE004 ordering can occur.
# Usage: traces/make-fio-clean-control.sh [ORDO_BINARY]
set -eu
. "$(dirname "$0")/common.sh"
fio --output=/dev/null --ioengine=psync --filename=data --size=512k --randseed=12 \
    --name=seq --rw=read --bsrange=3k-9k --blockalign=1 --write_iolog=seq.log \
    --name=rand --rw=randread --bsrange=1k-8k --blockalign=1 --write_iolog=rand.log 2>/dev/null
"$ORDO" trace import --format fio seq.log rand.log -o "$HERE/fio-clean-control.ordo"
