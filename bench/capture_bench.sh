#!/bin/sh
# Capture overhead, side by side in one run: fio 4 KiB random reads from the
# page cache (--invalidate=0, file warmed), IOPS untraced, traced by
# `ordo capture`, and traced by strace; then capture's own CPU and memory at
# that event rate (attached with --comm for 5 s) and the trace's bytes/event.
# Usage: bench/capture_bench.sh [BUILD_DIR]   (as root)
set -eu
ORDO=$(realpath "${1:-build}/cli/ordo")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
FIO="fio --name=r --filename=$WORK/data --size=256M --rw=randread --bs=4k --ioengine=psync --invalidate=0 --time_based --runtime=5 --randseed=3"
fio --name=w --filename="$WORK/data" --size=256M --rw=read --bs=1M --output=/dev/null   # lay out and warm
iops() { python3 -c "import json,sys; t=sys.stdin.read(); print(round(json.loads(t[t.index('{'):])['jobs'][0]['read']['iops']))"; }
for round in 1 2; do
  base=$($FIO --output-format=json | iops)
  traced=$("$ORDO" capture -o "$WORK/t.ordo" -- $FIO --output-format=json 2>"$WORK/cap.err" | iops)
  # The floor: probes attached but the workload not selected (capture of pid 1),
  # so every syscall pays the tracepoints and an early return, nothing more.
  "$ORDO" capture --pid 1 --duration 8s -o "$WORK/idle.ordo" 2>/dev/null &
  IDLE=$!
  sleep 1
  floor=$($FIO --output-format=json | iops)
  wait $IDLE
  straced=$(strace -f -qq -e trace=pread64 -o /dev/null $FIO --output-format=json | iops)
  ratio() { python3 -c "print(round($1/$base,3))"; }
  echo "round $round: untraced $base IOPS; ordo capture $traced ($(ratio $traced)x); probes attached, workload not selected $floor ($(ratio $floor)x); strace $straced ($(ratio $straced)x)"
  sed 's/^/  /' "$WORK/cap.err"
done
$FIO --runtime=9 --output=/dev/null &
FIOPID=$!
sleep 2
python3 - "$ORDO" "$WORK" <<'PY'
import resource, subprocess, sys, json
ordo, work = sys.argv[1], sys.argv[2]
p = subprocess.run([ordo, "capture", "--comm", "fio", "--duration", "5s", "-o", work + "/c.ordo"], capture_output=True, text=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
info = json.loads(subprocess.run([ordo, "trace", "info", "--json", work + "/c.ordo"], capture_output=True, text=True).stdout)
ev = info["events"]
print("capture --comm fio for 5 s: %d events (%.0f/s), %d lost, capture CPU %.2f s user + %.2f s sys (%.0f%% of one core), max RSS %.1f MiB, %.2f bytes/event"
      % (ev, ev / 5.0, info["lost_events"], r.ru_utime, r.ru_stime, 100 * (r.ru_utime + r.ru_stime) / 5.0, r.ru_maxrss / 1024.0, info["bytes_per_event"]))
PY
wait $FIOPID
