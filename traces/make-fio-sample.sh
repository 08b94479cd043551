#!/bin/sh
# Regenerates traces/fio-misaligned-mix.ordo: two fio jobs on one 16 MiB file,
# one random read/write mix and one sequential reader, both with byte-aligned
# (misaligned) offsets and sizes from 512 B to 12 KiB, each writing a v3 iolog;
# then `ordo trace import` merges the two logs (one thread each).
# Usage: traces/make-fio-sample.sh [ORDO_BINARY]
set -eu
. "$(dirname "$0")/common.sh"
fio --output=/dev/null --ioengine=psync --blockalign=1 --bsrange=512-12k --size=16M \
    --number_ios=3000 --filename=data --randseed=4242 \
    --name=mix --rw=randrw --rwmixread=70 --write_iolog=mix.log \
    --name=burst --rw=read --write_iolog=burst.log
"$ORDO" trace import --format fio mix.log burst.log -o "$HERE/fio-misaligned-mix.ordo"
