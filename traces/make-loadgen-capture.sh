#!/bin/sh
# Regenerates traces/loadgen-a.ordo or traces/loadgen-b.ordo: `ordo loadgen`
# (legacy engine, 1000 API requests/s, 2 s) captured with eBPF, syscalls and
# the engine's USDT probes, then the first seed whose replay on the legacy
# engine manifests the wanted rule (pct for A, random for B), printed for the
# README. Needs root (CAP_BPF, CAP_PERFMON).
# Usage: traces/make-loadgen-capture.sh [ORDO_BINARY] a|b
set -eu
. "$(dirname "$0")/common.sh"
RULE=${2:?say a or b}
case "$RULE" in
  a) LOADGEN_SEED=1; EXPLORE=pct; WANT=FPRE004-A ;;
  b) LOADGEN_SEED=2; EXPLORE=random; WANT=FPRE004-B ;;
  *) echo "usage: $0 [ORDO_BINARY] a|b" >&2; exit 2 ;;
esac
OUT="$HERE/loadgen-$RULE.ordo"
"$ORDO" capture --usdt "$ORDO" -o "$OUT" -- \
  "$ORDO" loadgen --target "$WORK/host" --engine legacy --duration 2s --rate 1000 --seed $LOADGEN_SEED
chmod 0644 "$OUT"
for seed in $(seq 1 300); do
  if ! "$ORDO" replay "$OUT" --target "$WORK/lab" --engine legacy --explore $EXPLORE --seed "$seed" \
       --history "$WORK/h.ordo" >/dev/null; then
    if "$ORDO" analyze "$WORK/h.ordo" | grep -q "^$WANT on .*MANIFESTED"; then
      echo "loadgen-$RULE.ordo: $WANT manifests with --explore $EXPLORE --seed $seed"
      exit 0
    fi
  fi
done
echo "no seed in 1..300 manifests $WANT; capture again" >&2
exit 1
