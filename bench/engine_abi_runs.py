#!/usr/bin/env python3
"""Runs/s of an engine loaded through the engine ABI: a child process per run
(the default) vs --in-process, in interleaved pairs on one trace, with the
built-in engine on the same trace for reference. Prints the median of the
per-pair ratios (child / in-process) and their spread.

Usage: bench/engine_abi_runs.py [--ordo build/cli/ordo] [--engine SO:CONFIG]
                                [--trace traces/fio-writer-reader.ordo] [--pairs 7] [--runs 100]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile


def runs_per_s(ordo, trace, target, engine, runs, extra):
    cmd = [ordo, "replay", trace, "--target", target, "--engine", engine, "--explore", "pos",
           "--runs", str(runs), "--json"] + extra
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr}")
    j = json.loads(p.stdout)
    return j["runs"] / j["seconds"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ordo", default="build/cli/ordo")
    ap.add_argument("--engine",
                    default="build/examples/writeback_cache/writeback_cache.so:mode=fixed")
    ap.add_argument("--trace", default="traces/fio-writer-reader.ordo")
    ap.add_argument("--pairs", type=int, default=7)
    ap.add_argument("--runs", type=int, default=100)
    a = ap.parse_args()
    ordo = os.path.realpath(a.ordo)
    engine = a.engine
    if ".so" in engine and not engine.startswith("/"):
        engine = os.path.realpath(engine.split(":")[0]) + engine[len(engine.split(":")[0]):]
    with tempfile.TemporaryDirectory() as work:
        child, inproc, builtin, ratios = [], [], [], []
        for i in range(a.pairs):
            # Alternate which side goes first, so drift hits both alike.
            order = [("child", []), ("inproc", ["--in-process"])]
            if i % 2:
                order.reverse()
            got = {}
            for name, extra in order:
                got[name] = runs_per_s(ordo, a.trace, os.path.join(work, "t"), engine, a.runs,
                                       extra)
            child.append(got["child"])
            inproc.append(got["inproc"])
            ratios.append(got["child"] / got["inproc"])
            builtin.append(runs_per_s(ordo, a.trace, os.path.join(work, "b"), "fixed", a.runs, []))
        print(f"trace {a.trace}, engine {a.engine}, {a.pairs} pairs of {a.runs} POS runs")
        print(f"  child process per run: {statistics.median(child):.1f} runs/s (median)")
        print(f"  in ordo's process:     {statistics.median(inproc):.1f} runs/s (median)")
        print(f"  ratio child/in-process: median {statistics.median(ratios):.3f} "
              f"(min {min(ratios):.3f}, max {max(ratios):.3f})")
        print(f"  built-in engine (fixed), in-process: {statistics.median(builtin):.1f} runs/s")


if __name__ == "__main__":
    main()
