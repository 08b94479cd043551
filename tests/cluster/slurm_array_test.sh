#!/bin/bash
# A real single-node Slurm cluster (Debian's slurm-wlm and munge) runs the job
# array of docs/slurm/ordo-explore.sbatch as a user submits it:
#   1. 4 shards over a sample trace; `ordo report` of their results must say
#      what one unsharded replay of the same runs says (failing seeds, first
#      failure, its reproduce command);
#   2. 3 shards with task 2 made to fail once: the merge must name shard 2 as
#      missing and exit 2, never pass; `scontrol requeue` of that task (as
#      docs/scaling.md says) completes the merge, again equal to the replay.
# Everything lives under one temporary directory; the daemons are stopped by
# their pids on every exit, and the test fails if one is still running.
#
# usage: slurm_array_test.sh ORDO_BIN SOURCE_DIR
# Exit 0 pass, 1 fail, 77 skipped (not root: munged and slurmd need it).
set -u
ORDO_BIN=$(realpath "$1")
SRC=$(realpath "$2")
SCRIPT=$SRC/docs/slurm/ordo-explore.sbatch
TRACE=$SRC/traces/fio-writer-reader.ordo
SEED=990 RUNS=30 SHARDS=4
# Bounds, so that the test ends (and stops its daemons) well within ctest's
# TIMEOUT: ctest's kill would leave the daemons, which are not its children.
UP_TIMEOUT=${ORDO_SLURM_UP_TIMEOUT:-30}  # seconds for each daemon to answer
JOB_TIMEOUT=120                          # seconds for each job array

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $* ($(($(date +%s%N) / 1000000 - T0)) ms)"; }
T0=$(($(date +%s%N) / 1000000))

export PATH=$PATH:/usr/sbin:/sbin  # munged, slurmctld and slurmd live there
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (munged runs as user munge, slurmd as root)"; exit 77; }
for c in munged munge unmunge slurmctld slurmd sbatch scontrol sinfo squeue scancel python3; do
  command -v "$c" >/dev/null ||
    fail "$c is not installed: the Makefile's PACKAGES (slurm-wlm munge python3) install it, run make deps"
done
id munge >/dev/null 2>&1 || fail "no user munge: the munge package did not finish installing"

TMP=$(mktemp -d /tmp/ordo-slurm-XXXXXX) || fail "mktemp"
chmod 755 "$TMP"  # munged runs as munge and must reach its own folder below
CONF=$TMP/slurm.conf
export SLURM_CONF=$CONF

daemon_pids() {
  for f in "$TMP/slurmd.pid" "$TMP/slurmctld.pid" "$TMP/munge/munged.pid"; do
    [ -s "$f" ] && cat "$f"
  done
}
stop_pid() {  # TERM, then KILL after 10 s
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  echo "pid $pid still running 10 s after SIGTERM: SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null
  sleep 0.2
}
cleanup() {
  local code=$? pids left=""
  trap - EXIT INT TERM
  if [ -s "$TMP/slurmctld.pid" ]; then
    scancel --quiet --user=root 2>/dev/null
    for i in $(seq 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
  fi
  pids=$(daemon_pids)
  for f in slurmd slurmctld munge/munged; do
    [ -s "$TMP/$f.pid" ] && stop_pid "$(cat "$TMP/$f.pid")"
  done
  for pid in $pids; do kill -0 "$pid" 2>/dev/null && left="$left $pid"; done
  if [ -n "$left" ]; then
    echo "FAIL: daemons still running after cleanup: pids$left" >&2
    code=1
  fi
  if [ "$code" != 0 ] && [ "$code" != 77 ]; then
    for log in munge/munged.log slurmctld.log slurmd.log; do
      [ -f "$TMP/$log" ] && { echo "--- last lines of $log"; tail -n 15 "$TMP/$log"; }
    done >&2
    for log in "$TMP"/logs/*; do [ -f "$log" ] && { echo "--- $log"; tail -n 20 "$log"; }; done >&2
  fi
  rm -rf "$TMP"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# munge: a fresh 1 KiB key; --force because a socket under /tmp fails munged's
# own permission checks.
mkdir -p "$TMP/munge" "$TMP/state" "$TMP/spool" "$TMP/logs" "$TMP/results" "$TMP/bin"
dd if=/dev/urandom of="$TMP/munge/munge.key" bs=1024 count=1 status=none
chown -R munge:munge "$TMP/munge"
chmod 700 "$TMP/munge"
chmod 400 "$TMP/munge/munge.key"
SOCK=$TMP/munge/munge.socket
step "starting munged"
runuser -u munge -- munged --force --key-file "$TMP/munge/munge.key" --socket "$SOCK" \
  --pid-file "$TMP/munge/munged.pid" --log-file "$TMP/munge/munged.log" \
  --seed-file "$TMP/munge/munged.seed" ||
  fail "munged did not start (exit $?): see munged.log below"
ok=""
for i in $(seq $((UP_TIMEOUT * 5))); do
  munge -n -S "$SOCK" 2>/dev/null | unmunge -S "$SOCK" >/dev/null 2>&1 && { ok=1; break; }
  sleep 0.2
done
[ -n "$ok" ] || fail "munged not answering on $SOCK after ${UP_TIMEOUT} s (munge -n | unmunge failed)"

# Two free TCP ports for slurmctld and slurmd.
read -r P1 P2 < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
# The node line as slurmd sees this machine (its name, CPUs, cores,
# RealMemory), so the node is not drained for claiming more than it has.
NODE=$(slurmd -C | head -n 1)
case "$NODE" in NodeName=*) ;; *) fail "slurmd -C printed no node line: $NODE" ;; esac
HOST=${NODE%% *}
HOST=${HOST#NodeName=}
cat >"$CONF" <<CONF
ClusterName=ordotest
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmctldPort=$P1
SlurmdPort=$P2
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldLogFile=$TMP/slurmctld.log
SlurmdLogFile=$TMP/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
$NODE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=ordo Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF

step "starting slurmctld"
slurmctld -f "$CONF" || fail "slurmctld did not start (exit $?): see slurmctld.log below"
ok=""
for i in $(seq $((UP_TIMEOUT * 5))); do
  scontrol ping 2>/dev/null | grep -q 'is UP' && { ok=1; break; }
  sleep 0.2
done
[ -n "$ok" ] || fail "slurmctld not up after ${UP_TIMEOUT} s: scontrol ping says: $(scontrol ping 2>&1)"
step "starting slurmd"
slurmd -f "$CONF" || fail "slurmd did not start (exit $?): see slurmd.log below"
state=""
for i in $(seq $((UP_TIMEOUT * 5))); do
  state=$(sinfo -h -n "$HOST" -o %T 2>/dev/null)
  [ "$state" = idle ] && break
  sleep 0.2
done
[ "$state" = idle ] ||
  fail "node $HOST not idle after ${UP_TIMEOUT} s (state '$state'): $(scontrol show node "$HOST" 2>&1 | grep -E 'State|Reason')"
step "cluster up"

# `ordo` on PATH as a user has it; a wrapper so that part 2 can make one
# task fail once, the way a broken node would (the script itself is unchanged).
cat >"$TMP/bin/ordo" <<WRAP
#!/bin/sh
if [ "\${ORDO_TEST_FAIL_TASK:-}" = "\${SLURM_ARRAY_TASK_ID:-}" ] && mkdir "$TMP/failed-once" 2>/dev/null; then
  echo '{"error": {"message": "injected failure of task '"\$SLURM_ARRAY_TASK_ID"'"}}'
  echo "ordo: injected failure" >&2
  exit 3
fi
exec "$ORDO_BIN" "\$@"
WRAP
chmod +x "$TMP/bin/ordo"
export PATH=$TMP/bin:$PATH

submit() {  # RESULTS ARRAY: runs the array job and waits for it, prints sbatch's exit code
  # (the job id goes to $TMP/jobid)
  timeout "$JOB_TIMEOUT" sbatch --wait --array="$2" --output="$TMP/logs/%A_%a.log" \
    --parsable --chdir="$TMP" "$SCRIPT" "$TRACE" "$1" "$RUNS" "$SEED" >"$TMP/jobid" 2>"$TMP/sbatch.err"
  echo $?
}

# 1. All shards succeed: the merge is the unsharded replay.
step "sbatch --array=1-$SHARDS"
code=$(submit "$TMP/results/all" "1-$SHARDS")
[ "$code" = 0 ] || fail "sbatch --wait of the array exited $code: $(cat "$TMP/sbatch.err")"
step "array done"
n=$(ls "$TMP/results/all"/shard-*.json 2>/dev/null | wc -l)
[ "$n" = "$SHARDS" ] || fail "$n shard results, expected $SHARDS: $(ls -A "$TMP/results/all")"
"$ORDO_BIN" report "$TMP/results/all"/shard-*.json -o "$TMP/merged.md" 2>"$TMP/report.err" ||
  fail "ordo report of the $SHARDS shards exited $?: $(cat "$TMP/report.err")"
"$ORDO_BIN" replay "$TRACE" --target "$TMP/one" --engine legacy --explore pct --seed "$SEED" \
  --runs "$RUNS" --json >"$TMP/one.json"
[ $? -le 1 ] || fail "the unsharded replay failed"
"$ORDO_BIN" report "$TMP/one.json" -o "$TMP/one.md" || fail "ordo report of the unsharded replay"
grep -q "all $SHARDS shards, $RUNS runs made, FPRE004 in [1-9]" "$TMP/merged.md" ||
  fail "merged report does not say all $SHARDS shards made $RUNS runs with FPRE004: $(cat "$TMP/merged.md")"
# Every line but the shard count must match, the reproduce command up to
# its --target (each shard had its own scratch directory).
norm() { sed -E -e 's/--target [^ ]+ //' -e 's/all [0-9]+ shards/all shards/' "$1"; }
diff <(norm "$TMP/one.md") <(norm "$TMP/merged.md") >"$TMP/diff" ||
  fail "merged shards differ from the unsharded replay: $(cat "$TMP/diff")"
python3 - "$TMP/one.json" "$TMP/results/all" <<'PY' || fail "JSON comparison"
import glob, json, sys
one = json.load(open(sys.argv[1]))
shards = [json.load(open(p)) for p in glob.glob(sys.argv[2] + "/shard-*.json")]
want = sorted(f["seed"] for f in one["failing_runs"])
got = sorted(f["seed"] for s in shards for f in s["failing_runs"])
assert len(want) >= 2, "the sample must fail in several runs for the split to be tested"
assert got == want, f"failing seeds: shards {got}, unsharded {want}"
assert sorted(s["shard"] for s in shards) == [f"{k}/{len(shards)}" for k in range(1, len(shards) + 1)]
first = min((f for s in shards for f in s["failing_runs"]), key=lambda f: f["run"])
assert first["seed"] == one["first_failure"]["seed"], (first, one["first_failure"])
strip = lambda c: " ".join(w for i, w in enumerate(c.split()) if not (w == "--target" or c.split()[i - 1] == "--target"))
assert strip(first["reproduce"]) == strip(one["first_failure"]["reproduce"])
print(f"failing seeds {want}, first {first['seed']}: same in {len(shards)} shards and unsharded")
PY

# 2. Task 2 of 3 fails: its shard is missing, the merge says so and exits 2.
step "sbatch --array=1-3 with task 2 failing"
code=$(export ORDO_TEST_FAIL_TASK=2; submit "$TMP/results/broken" 1-3)
[ "$code" != 0 ] || fail "sbatch --wait exited 0 although task 2 failed"
[ -f "$TMP/results/broken/failed-2.json" ] || fail "no failed-2.json: $(ls -A "$TMP/results/broken")"
[ ! -e "$TMP/results/broken/shard-2.json" ] || fail "the failed task left a shard-2.json"
"$ORDO_BIN" report "$TMP/results/broken"/shard-*.json -o "$TMP/broken.md" 2>"$TMP/report.err"
code=$?
[ "$code" = 2 ] || fail "ordo report with shard 2 missing exited $code, expected 2: $(cat "$TMP/report.err")"
grep -q "2 of 3 shards (missing: 2)" "$TMP/broken.md" ||
  fail "the merged report does not name shard 2 as missing: $(cat "$TMP/broken.md")"
grep -q "incomplete: shard 2 of 3 gave no result" "$TMP/report.err" ||
  fail "ordo report did not say the merge is incomplete: $(cat "$TMP/report.err")"
step "scontrol requeue of task 2"
jobid=$(cut -d';' -f1 "$TMP/jobid")
scontrol requeue "${jobid}_2" || fail "scontrol requeue ${jobid}_2 exited $?"
# A requeued job waits 2 minutes (its BeginTime) unless told otherwise.
scontrol update JobId="${jobid}_2" StartTime=now || fail "scontrol update ${jobid}_2 StartTime=now exited $?"
left=""
for i in $(seq $((JOB_TIMEOUT * 5))); do
  left=$(squeue -h -j "$jobid" 2>/dev/null)
  [ -z "$left" ] && [ -e "$TMP/results/broken/shard-2.json" ] && break
  sleep 0.2
done
[ -z "$left" ] || fail "task ${jobid}_2 still queued ${JOB_TIMEOUT} s after its requeue: $left"
"$ORDO_BIN" report "$TMP/results/broken"/shard-*.json -o "$TMP/requeued.md" 2>"$TMP/report.err" ||
  fail "ordo report after the requeue exited $?: $(cat "$TMP/report.err")"
diff <(norm "$TMP/one.md") <(norm "$TMP/requeued.md") >"$TMP/diff" ||
  fail "3 shards after the requeue differ from the unsharded replay: $(cat "$TMP/diff")"
step "done"
echo "PASS"
