#!/bin/sh
# Runs every benchmark and prints the figures docs/benchmarks.md records.
# Usage: bench/run.sh [BUILD_DIR]
set -eu
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
echo "== $(date -u +%Y-%m-%d) on $(uname -n), $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
echo "== trace encode/decode (Google Benchmark; items_per_second = events/s)"
"$BUILD/bench/trace_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
echo "== trace size vs zstd -19 of fio's text log"
"$HERE/trace_size.sh" "$BUILD/cli/ordo"
echo "== engine: legacy vs fixed latency (same run), ordering point cost, engine vs pread"
"$BUILD/bench/engine_bench"
echo "== replay"; "$HERE/replay_bench.sh" "$BUILD"
echo "== analyze"; "$HERE/analyze_bench.sh" "$BUILD"
echo "== minimize"; "$HERE/minimize_bench.sh" "$BUILD"
echo "== shards"; "$HERE/shard_bench.sh" "$BUILD"
