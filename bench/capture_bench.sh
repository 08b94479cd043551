#!/bin/sh
# Capture overhead the user's way: fio 4 KiB random reads from the page cache
# (psync, --invalidate=0, file warmed), untraced and under `ordo capture --
# fio ...` (kernel side and consumer included), alternating (ABBA) so both
# sides see the same machine; the figure is the median of per-pair ratios.
# Then the hook floor, the stamp floor (hooks plus the two clock reads) and
# capture side by side in one process (build/bench/capture_floor:
# N F S C C S F N rounds; skipped with ROUNDS=0), and the consumer alone
# (build/bench/capture_consumer).
# Usage: bench/capture_bench.sh [BUILD_DIR]   (as root; PAIRS=5 ROUNDS=40 RUNTIME=3)
# BASELINE=/path/to/other/ordo adds a third side to the user's view (another
# build's `ordo capture`, rotated with the other two) and its ratio to this
# build's.
set -eu
BUILD=$(realpath "${1:-build}")
ORDO=$BUILD/cli/ordo
PAIRS=${PAIRS:-5}
ROUNDS=${ROUNDS:-40}
RUNTIME=${RUNTIME:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
FIO="fio --name=r --filename=$WORK/data --size=256M --rw=randread --bs=4k --ioengine=psync --invalidate=0 --time_based --runtime=$RUNTIME --randseed=3 --output-format=json"
fio --name=w --filename="$WORK/data" --size=256M --rw=read --bs=1M --output=/dev/null   # lay out and warm
iops() { python3 -c "import json,sys; t=sys.stdin.read(); print(round(json.loads(t[t.index('{'):])['jobs'][0]['read']['iops']))"; }
untraced() { $FIO | iops; }
traced() { "${1:-$ORDO}" capture -o "$WORK/t.ordo" -- $FIO 2>"$WORK/cap.err" | iops; }
: >"$WORK/pairs"
for i in $(seq "$PAIRS"); do
  if [ -n "${BASELINE:-}" ]; then
    # Rotate the order of the three sides: each leads in turn.
    case $((i % 3)) in
      1) u=$(untraced); t=$(traced); b=$(traced "$BASELINE") ;;
      2) t=$(traced); b=$(traced "$BASELINE"); u=$(untraced) ;;
      0) b=$(traced "$BASELINE"); u=$(untraced); t=$(traced) ;;
    esac
    echo "$u $t $b" >>"$WORK/pairs"
    echo "round $i: untraced $u IOPS, ordo capture $t IOPS, baseline $b IOPS"
  else
    if [ $((i % 2)) -eq 1 ]; then u=$(untraced); t=$(traced); else t=$(traced); u=$(untraced); fi
    echo "$u $t" >>"$WORK/pairs"
    echo "pair $i: untraced $u IOPS, ordo capture $t IOPS; $(tr '\n' ' ' <"$WORK/cap.err")"
  fi
done
python3 - "$WORK/pairs" <<'PY'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
def show(what, r):
    r = sorted(r)
    print("%s median %.3f, min %.3f, max %.3f over %d rounds" % (what, statistics.median(r), r[0], r[-1], len(r)))
show("user's view (fio psync 4 KiB page-cache random reads): ordo capture / untraced", [x[1] / x[0] for x in rows])
if len(rows[0]) > 2:
    show("baseline capture / untraced", [x[2] / x[0] for x in rows])
    show("ordo capture / baseline capture", [x[1] / x[2] for x in rows])
PY
[ "$ROUNDS" -gt 0 ] && "$BUILD/bench/capture_floor" --rounds "$ROUNDS" --file "$WORK/floor.data" 2>/dev/null
# The consumer's CPU per event on its own (decoder, encoder, zstd; no BPF).
"$BUILD/bench/capture_consumer" --events 2000000 -o "$WORK/consumer.ordo"
