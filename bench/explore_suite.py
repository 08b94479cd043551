#!/usr/bin/env python3
"""Reproduction power of each exploration strategy on generated fio workloads.

Generates a suite of fio workloads (writers and misaligned sequential burst
readers of varied sizes, shapes and fio randseeds, plus clean controls),
imports each into an .ordo trace, and replays it on the legacy engine under
every strategy (none, random, pct at two depths, pos, auto) from several base
seeds. For each (workload, strategy) it reports the fraction of runs that
fail, the median runs to the first FPRE004 over the base seeds, and runs/s;
auto also says which predicted signatures it confirmed. Nothing is committed
but this script: the workloads are made by fio each time.

Usage: bench/explore_suite.py [--ordo build/cli/ordo] [--runs 20] [--seeds 1,101,202]
                              [--strategies none,random,pct3,pct10,pos,auto] [--only NAME,...]
                              [--fixed-runs 0] [--engine legacy] [--fixed-engine fixed]

--engine/--fixed-engine take any --engine value of ordo replay, e.g. an engine
of your own: --engine build/examples/writeback_cache/writeback_cache.so:mode=legacy
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

# name: (fio arguments shared by the jobs, [per-job arguments], expect_failure)
# Every reader starts its reads at byte-aligned offsets (blockalign=1), so
# nearly every read starts mid-block and spans two or more blocks.
WORKLOADS = {
    "wr-rand-512k": ("--size=512k --randseed=101",
                     ["--name=writer --rw=randwrite --bsrange=1k-8k",
                      "--name=reader --rw=read --bsrange=3k-9k --loops=4"], True),
    "wr-rand-1m-2readers": ("--size=1m --randseed=202",
                            ["--name=writer --rw=randwrite --bsrange=2k-6k --number_ios=150",
                             "--name=r1 --rw=read --bsrange=5k-11k --loops=2",
                             "--name=r2 --rw=read --bsrange=3k-7k --offset=512k --loops=2"], True),
    "wr-seq-writer": ("--size=512k --randseed=303",
                      ["--name=writer --rw=write --bsrange=1k-3k --number_ios=200",
                       "--name=reader --rw=read --bsrange=4k-12k --loops=3"], True),
    "wr-small-blocks": ("--size=256k --randseed=404",
                        ["--name=writer --rw=randwrite --bsrange=512-2k --number_ios=200",
                         "--name=reader --rw=read --bsrange=2k-5k --loops=4"], True),
    "wr-big-bursts": ("--size=2m --randseed=505",
                      ["--name=writer --rw=randwrite --bsrange=4k-16k --number_ios=120",
                       "--name=reader --rw=read --bsrange=6k-20k --loops=2"], True),
    "ww-two-writers": ("--size=768k --randseed=606",
                       ["--name=w1 --rw=randwrite --bsrange=1k-5k --number_ios=100",
                        "--name=w2 --rw=randwrite --bsrange=2k-9k --number_ios=100",
                        "--name=reader --rw=read --bsrange=3k-10k --loops=3"], True),
    "mix-randrw-burst": ("--size=1m --randseed=707",
                         ["--name=mix --rw=randrw --rwmixread=60 --bsrange=512-12k --number_ios=300",
                          "--name=burst --rw=read --bsrange=2k-12k --loops=2"], True),
    "wr-fsync": ("--size=512k --randseed=808",
                 ["--name=writer --rw=randwrite --bsrange=1k-8k --number_ios=150 --fsync=8",
                  "--name=reader --rw=read --bsrange=3k-9k --loops=3"], True),
    "wr-holey-reader": ("--size=1m --randseed=909",
                        ["--name=writer --rw=randwrite --bsrange=2k-8k --number_ios=150",
                         "--name=reader --rw=read:6k --bsrange=5k-13k --loops=3"], True),
    "wr-3readers": ("--size=1536k --randseed=111",
                    ["--name=writer --rw=randwrite --bsrange=1k-12k --number_ios=150",
                     "--name=r1 --rw=read --bsrange=3k-9k",
                     "--name=r2 --rw=read --bsrange=4k-11k --offset=512k",
                     "--name=r3 --rw=read --bsrange=2k-8k --offset=1m"], True),
    "control-readers-only": ("--size=512k --randseed=121",
                             ["--name=seq --rw=read --bsrange=3k-9k --loops=3",
                              "--name=rand --rw=randread --bsrange=1k-8k --number_ios=200"], False),
    "control-writers-only": ("--size=512k --randseed=131",
                             ["--name=w1 --rw=randwrite --bsrange=1k-8k --number_ios=150",
                              "--name=w2 --rw=write --bsrange=2k-6k --number_ios=150"], False),
}

STRATEGIES = {
    "none": ["--explore", "none"],
    "random": ["--explore", "random"],
    "pct3": ["--explore", "pct", "--depth", "3"],
    "pct10": ["--explore", "pct", "--depth", "10"],
    "pos": ["--explore", "pos"],
    "auto": ["--explore", "auto"],
}


def make_trace(ordo, work, name):
    common, jobs, _ = WORKLOADS[name]
    d = os.path.join(work, name)
    os.makedirs(d, exist_ok=True)
    logs = []
    args = ["fio", "--output=/dev/null", "--ioengine=psync", "--blockalign=1",
            "--filename=" + os.path.join(d, "data")] + common.split()
    for j in jobs:
        job = j.split()
        log = os.path.join(d, job[0].split("=")[1] + ".log")
        args += job + ["--write_iolog=" + log]
        logs.append(log)
    subprocess.run(args, check=True, stderr=subprocess.DEVNULL)
    trace = os.path.join(work, name + ".ordo")
    subprocess.run([ordo, "trace", "import", "--format", "fio"] + logs + ["-o", trace],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return trace


def replay(ordo, trace, target, engine, strategy, seed, runs, until_fail):
    cmd = [ordo, "replay", trace, "--target", target, "--engine", engine, "--seed", str(seed),
           "--runs", str(runs), "--json"] + STRATEGIES[strategy]
    if until_fail:
        cmd.append("--until-fail")
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}: {p.stderr.strip()}")
    return json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ordo", default="build/cli/ordo")
    ap.add_argument("--runs", type=int, default=20, help="runs per (workload, strategy, seed)")
    ap.add_argument("--seeds", default="1,101,202")
    ap.add_argument("--strategies", default=",".join(STRATEGIES))
    ap.add_argument("--only", default="")
    ap.add_argument("--fixed-runs", type=int, default=0,
                    help="also replay each workload on the fixed engine this many auto runs")
    ap.add_argument("--engine", default="legacy", help="the engine with the race")
    ap.add_argument("--fixed-engine", default="fixed", help="the engine without it (--fixed-runs)")
    a = ap.parse_args()
    ordo = os.path.realpath(a.ordo)
    seeds = [int(s) for s in a.seeds.split(",")]
    names = a.only.split(",") if a.only else list(WORKLOADS)
    with tempfile.TemporaryDirectory() as work:
        print(f"| workload | strategy | runs failing | median runs to first FPRE004 | runs/s | "
              f"confirmed (auto) |")
        print("|---|---|---|---|---|---|")
        for name in names:
            trace = make_trace(ordo, work, name)
            target = os.path.join(work, "t-" + name)
            for strategy in a.strategies.split(","):
                failing = total = 0
                firsts, seconds, confirmed = [], 0.0, set()
                for seed in seeds:
                    # auto's campaign decides its own runs: first failure with
                    # --until-fail, and what it confirms in a separate full campaign.
                    j = replay(ordo, trace, target, a.engine, strategy, seed, a.runs,
                               until_fail=(strategy == "auto"))
                    total += j["runs"]
                    failing += j["failures"]
                    seconds += j["seconds"]
                    ff = j["first_failure"]
                    firsts.append(ff["run"] + 1 if ff else float("inf"))
                    if strategy == "auto":
                        full = replay(ordo, trace, target, a.engine, "auto", seed, a.runs, False)
                        confirmed |= {f["rule"] for f in full["findings"]
                                      if f["status"] == "confirmed"}
                med = statistics.median(firsts)
                med_s = "never" if med == float("inf") else f"{med:g}"
                rate = total / seconds if seconds > 0 else 0
                conf = ", ".join(sorted(confirmed)) if strategy == "auto" else ""
                print(f"| {name} | {strategy} | {failing}/{total} | {med_s} "
                      f"({', '.join('-' if x == float('inf') else str(x) for x in firsts)}) | "
                      f"{rate:.1f} | {conf} |", flush=True)
            if a.fixed_runs:
                j = replay(ordo, trace, target, a.fixed_engine, "auto", 1, a.fixed_runs, False)
                print(f"| {name} | auto, fixed engine | {j['failures']}/{j['runs']} | "
                      f"{'clean' if j['failures'] == 0 else 'FAILED'} | "
                      f"{j['runs'] / j['seconds']:.1f} | |", flush=True)


if __name__ == "__main__":
    main()
