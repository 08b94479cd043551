#!/bin/sh
# Replay figures, each side by side with its reference in the same run:
#  1. fast file replay throughput: ordo --backend file --timing fast vs
#     fio --read_iolog --replay_no_stall=1, same log, same-size file, both in
#     the page cache;
#  2. original-timing fidelity: ordo's p99 issue-time error and wall time vs the
#     trace's duration, with fio's wall time for the same log beside it;
#  3. runs to reproduce FPRE004 on traces/fio-writer-reader.ordo: pct vs free
#     (none), median over 11 base seeds;
#  4. the plain-file replay a newcomer types (no flags but --backend file) vs
#     fio --read_iolog on the same log: wall time of each whole command,
#     interleaved rounds, median of the per-round ratios and their spread.
#     (fio with --replay_no_stall=1: ordo replays at full speed by default too.)
# Usage: bench/replay_bench.sh [BUILD_DIR]   (SECTIONS="4" runs only section 4)
set -eu
ORDO=$(realpath "${1:-build}/cli/ordo")
TRACES=$(cd "$(dirname "$0")/../traces" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
SECTIONS=${SECTIONS:-"1 2 3 4"}
want() { case " $SECTIONS " in *" $1 "*) return 0 ;; esac; return 1; }

if want 1; then
echo "-- 1. fast replay: 100000 random 4 KiB reads of a 64 MiB file, one thread"
fio --output=/dev/null --ioengine=psync --filename="$WORK/data" --size=64M --rw=randread --bs=4k \
    --number_ios=100000 --randseed=5 --name=r --write_iolog=r.log 2>/dev/null
"$ORDO" trace import --format fio r.log -o r.ordo 2>/dev/null
for round in 1 2 3; do
  ordo_iops=$("$ORDO" replay r.ordo --target "$WORK/t" --backend file --timing fast --json | json 'round(d["ops_per_s"])')
  cat data > /dev/null
  fio_iops=$(fio --output-format=json --name=replay --ioengine=psync --replay_no_stall=1 --read_iolog=r.log 2>/dev/null \
             | json 'round(d["jobs"][0]["read"]["iops"])')
  echo "  round $round: ordo $ordo_iops ops/s, fio $fio_iops IOPS, ratio $(python3 -c "print(round($ordo_iops/$fio_iops,3))")"
done

fi
if want 2; then
echo "-- 2. original timing: 20000 reads at 4000 IOPS (5 s), one thread"
fio --output=/dev/null --ioengine=psync --filename="$WORK/data" --size=64M --rw=randread --bs=4k \
    --number_ios=20000 --rate_iops=4000 --randseed=6 --name=p --write_iolog=p.log 2>/dev/null
"$ORDO" trace import --format fio p.log -o p.ordo 2>/dev/null
for round in 1 2 3 4 5; do
  "$ORDO" replay p.ordo --target "$WORK/t2" --backend file --timing original --json | json \
    '"  ordo round '$round': trace %.3f s, replay %.3f s (%.4fx), issue error p99 %.1f us" % (d["trace_duration_ns"]/1e9, d["seconds"], d["seconds"]/(d["trace_duration_ns"]/1e9), d["issue_error_p99_us"])'
done
start=$(date +%s.%N)
fio --output=/dev/null --name=replay --ioengine=psync --read_iolog=p.log 2>/dev/null
end=$(date +%s.%N)
python3 -c "
t=$(tail -2 p.log | head -1 | cut -d' ' -f1)/1e6; w=$end-$start
print('  fio:  trace %.3f s, replay %.3f s (%.4fx, includes fio start-up)' % (t, w, w/t))"

fi
if want 3; then
echo "-- 3. runs to reproduce FPRE004 (legacy engine), median of 11 base seeds, cap 300 runs"
for explore in pct none random; do
  runs=""
  for s in 1 2 3 4 5 6 7 8 9 10 11; do
    r=$("$ORDO" replay "$TRACES/fio-writer-reader.ordo" --target "$WORK/t3" --engine legacy --explore $explore \
        --seed $((s * 1000)) --runs 300 --until-fail --json | json 'd["first_failure"]["run"]+1 if d["first_failure"] else 301')
    runs="$runs $r"
  done
  echo "  $explore: runs to first FPRE004:$runs -> median $(echo $runs | tr ' ' '\n' | sort -n | sed -n 6p)"
done
fi

if want 4; then
echo "-- 4. default plain-file replay vs fio --read_iolog: 60000 random reads (1-16 KiB) of a 64 MiB file"
fio --output=/dev/null --ioengine=psync --filename="$WORK/data" --size=64M --rw=randread \
    --bsrange=1k-16k --number_ios=60000 --randseed=7 --name=d --write_iolog=d.log 2>/dev/null
"$ORDO" trace import --format fio d.log -o d.ordo 2>/dev/null
cat data > /dev/null
wall() { python3 -c "
import subprocess,sys,time
t=time.monotonic(); r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL); w=time.monotonic()-t
sys.exit('failed: '+' '.join(sys.argv[1:])) if r.returncode else print(w)" "$@"; }
ratios=""
for round in 1 2 3 4 5 6 7; do
  if [ $((round % 2)) = 1 ]; then
    o=$(wall "$ORDO" replay d.ordo --target "$WORK/t4" --backend file)
    f=$(wall fio --output=/dev/null --name=replay --ioengine=psync --replay_no_stall=1 --read_iolog=d.log)
  else
    f=$(wall fio --output=/dev/null --name=replay --ioengine=psync --replay_no_stall=1 --read_iolog=d.log)
    o=$(wall "$ORDO" replay d.ordo --target "$WORK/t4" --backend file)
  fi
  runs=$("$ORDO" replay d.ordo --target "$WORK/t4" --backend file --json | json 'd["runs"]')
  r=$(python3 -c "print(round($f/$o,3))")
  ratios="$ratios $r"
  echo "  round $round: ordo $(python3 -c "print(round($o,3))") s ($runs run), fio $(python3 -c "print(round($f,3))") s, fio/ordo $r"
done
python3 -c "
import statistics; r=sorted(float(x) for x in '$ratios'.split())
print('  fio time / ordo time: median %.3f (min %.3f, max %.3f) over %d rounds' % (statistics.median(r), r[0], r[-1], len(r)))"
fi
