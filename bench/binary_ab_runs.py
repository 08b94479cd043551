#!/usr/bin/env python3
"""Runs/s of one replay command under two ordo binaries (A, the reference,
and B), in interleaved pairs (the side that goes first alternates), on one
trace. Prints each side's median and the median of the per-pair ratios B/A
with their spread. Used to compare a change against the commit before it:
build the old commit in a worktree and pass its binary as --a.

Usage: bench/binary_ab_runs.py --a OLD/build/cli/ordo --b build/cli/ordo
           [--trace traces/fio-writer-reader.ordo] [--engine legacy]
           [--explore pos] [--pairs 7] [--runs 100]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile


def runs_per_s(ordo, trace, target, engine, explore, runs):
    cmd = [ordo, "replay", trace, "--target", target, "--force", "--engine", engine,
           "--explore", explore, "--runs", str(runs), "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr}")
    j = json.loads(p.stdout)
    return j["runs"] / j["seconds"], j["failures"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="reference ordo binary")
    ap.add_argument("--b", default="build/cli/ordo")
    ap.add_argument("--trace", default="traces/fio-writer-reader.ordo")
    ap.add_argument("--engine", default="legacy")
    ap.add_argument("--explore", default="pos")
    ap.add_argument("--pairs", type=int, default=7)
    ap.add_argument("--runs", type=int, default=100)
    o = ap.parse_args()
    sides = {"a": os.path.realpath(o.a), "b": os.path.realpath(o.b)}
    with tempfile.TemporaryDirectory() as work:
        got = {"a": [], "b": []}
        fails = {"a": [], "b": []}
        ratios = []
        for i in range(o.pairs):
            order = ["a", "b"] if i % 2 == 0 else ["b", "a"]
            pair = {}
            for side in order:
                rate, f = runs_per_s(sides[side], o.trace, os.path.join(work, side), o.engine,
                                     o.explore, o.runs)
                pair[side] = rate
                got[side].append(rate)
                fails[side].append(f)
            ratios.append(pair["b"] / pair["a"])
        print(f"trace {o.trace}, --engine {o.engine} --explore {o.explore}, "
              f"{o.pairs} pairs of {o.runs} runs")
        for side in ("a", "b"):
            print(f"  {side} {sides[side]}: {statistics.median(got[side]):.1f} runs/s (median), "
                  f"failing runs per {o.runs}: {fails[side]}")
        print(f"  ratio b/a: median {statistics.median(ratios):.3f} "
              f"(min {min(ratios):.3f}, max {max(ratios):.3f})")


if __name__ == "__main__":
    main()
