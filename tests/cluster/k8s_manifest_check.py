#!/usr/bin/env python3
"""Checks docs/k8s/ordo-explore.yaml as far as a machine without Kubernetes can.

1. The fields it uses are those of a batch/v1 Indexed Job, with the types the
   API server accepts (env values are strings, quantities strings, volumes that
   mounts name exist, restartPolicy allowed for a Job, ORDO_SHARD_COUNT equal
   to spec.completions, parallelism <= completions).
2. Its `ordo replay` command line is the one docs/slurm/ordo-explore.sbatch runs.
3. The pod's script, run by /bin/sh here for every index of a small job with
   the manifest's environment (paths moved to a temporary directory), leaves
   one result per pod that `ordo report` merges into all shards.

usage: k8s_manifest_check.py MANIFEST SBATCH_SCRIPT ORDO_BIN TRACE
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


# Keys each object may have (those of the Kubernetes API this manifest may use).
ALLOWED = {
    "job": {"apiVersion", "kind", "metadata", "spec"},
    "jobspec": {"completionMode", "completions", "parallelism", "backoffLimit", "template",
                "activeDeadlineSeconds", "ttlSecondsAfterFinished", "backoffLimitPerIndex",
                "maxFailedIndexes", "podFailurePolicy", "suspend", "selector", "manualSelector"},
    "podspec": {"restartPolicy", "containers", "volumes", "nodeSelector", "tolerations",
                "affinity", "serviceAccountName", "securityContext"},
    "container": {"name", "image", "command", "args", "env", "resources", "volumeMounts",
                  "workingDir", "imagePullPolicy", "securityContext"},
    "env": {"name", "value", "valueFrom"},
    "mount": {"name", "mountPath", "readOnly", "subPath"},
    "volume": {"name", "persistentVolumeClaim", "emptyDir", "configMap", "hostPath", "nfs"},
}


def keys(obj, kind, where):
    if check(isinstance(obj, dict), f"{where} is not a mapping"):
        extra = set(obj) - ALLOWED[kind]
        check(not extra, f"{where}: fields not in the {kind} schema: {sorted(extra)}")


def replay_line(text):
    """The `ordo replay ...` command of a shell script, continuations joined."""
    text = re.sub(r"\\\n\s*", " ", text)
    lines = [l.strip() for l in text.splitlines() if l.strip().startswith("ordo replay ")]
    check(len(lines) == 1, f"expected one `ordo replay` line, found {len(lines)}")
    return lines[0] if lines else ""


def main():
    manifest, sbatch, ordo, trace = sys.argv[1:5]
    with open(manifest) as f:
        job = yaml.safe_load(f)
    keys(job, "job", "the document")
    check(job.get("apiVersion") == "batch/v1", "apiVersion is not batch/v1")
    check(job.get("kind") == "Job", "kind is not Job")
    check(isinstance(job.get("metadata", {}).get("name"), str), "metadata.name missing")
    spec = job.get("spec", {})
    keys(spec, "jobspec", "spec")
    check(spec.get("completionMode") == "Indexed", "spec.completionMode is not Indexed")
    completions = spec.get("completions")
    parallelism = spec.get("parallelism", 1)
    check(isinstance(completions, int) and completions >= 1, "spec.completions not a positive int")
    check(isinstance(parallelism, int) and 1 <= parallelism <= (completions or 0),
          "spec.parallelism not an int in 1..completions")
    check(isinstance(spec.get("backoffLimit", 0), int), "spec.backoffLimit not an int")
    pod = spec.get("template", {}).get("spec", {})
    keys(pod, "podspec", "spec.template.spec")
    check(pod.get("restartPolicy") in ("Never", "OnFailure"),
          "a Job's restartPolicy must be Never or OnFailure")
    containers = pod.get("containers", [])
    check(isinstance(containers, list) and len(containers) == 1, "expected one container")
    c = containers[0] if containers else {}
    keys(c, "container", "the container")
    check(isinstance(c.get("image"), str), "container image missing")
    env = {}
    for e in c.get("env", []):
        keys(e, "env", f"env {e.get('name')}")
        check(isinstance(e.get("value"), str),
              f"env {e.get('name')}: value must be a string (quote it), not {e.get('value')!r}")
        env[e.get("name")] = e.get("value")
    check(env.get("ORDO_SHARD_COUNT") == str(completions),
          f"env ORDO_SHARD_COUNT={env.get('ORDO_SHARD_COUNT')!r} differs from completions={completions}")
    for part in ("requests", "limits"):
        for k, v in c.get("resources", {}).get(part, {}).items():
            check(isinstance(v, str), f"resources.{part}.{k}: quantity must be a string")
    volumes = {v.get("name") for v in pod.get("volumes", [])}
    for v in pod.get("volumes", []):
        keys(v, "volume", f"volume {v.get('name')}")
    for m in c.get("volumeMounts", []):
        keys(m, "mount", f"volumeMount {m.get('name')}")
        check(m.get("name") in volumes, f"volumeMount {m.get('name')} names no volume")
    check(c.get("command") == ["/bin/sh", "-c"] and len(c.get("args", [])) == 1,
          "command must be /bin/sh -c with the script as the one argument")
    script = (c.get("args") or [""])[0]

    with open(sbatch) as f:
        slurm_line = replay_line(f.read())
    k8s_line = replay_line(script)
    check(k8s_line == slurm_line,
          f"the pod's replay command differs from the Slurm script's:\n  {k8s_line}\n  {slurm_line}")
    for v in re.findall(r"\$\{?([A-Z_]+)", k8s_line):
        check(v in env or v == "OUT", f"the replay line uses ${v}, which the pod does not set")

    # Run the pod's script for each index of a 3-completion job, here.
    tmp = tempfile.mkdtemp(prefix="ordo-k8s-")
    try:
        bindir = os.path.join(tmp, "bin")
        os.makedirs(bindir)
        os.symlink(os.path.abspath(ordo), os.path.join(bindir, "ordo"))
        local = dict(env, ORDO_SHARD_COUNT="3", TRACE=os.path.abspath(trace), RUNS="6",
                     RESULTS=os.path.join(tmp, "results"), LAB=os.path.join(tmp, "scratch"))
        os.makedirs(local["RESULTS"])
        for index in range(3):
            run_env = dict(os.environ, **local, JOB_COMPLETION_INDEX=str(index),
                           PATH=bindir + ":" + os.environ["PATH"])
            shutil.rmtree(local["LAB"], ignore_errors=True)
            os.makedirs(local["LAB"])
            p = subprocess.run(["/bin/sh", "-c", script], env=run_env, capture_output=True,
                               text=True)
            check(p.returncode == 0, f"pod {index}: script exited {p.returncode}: {p.stderr}")
        results = sorted(os.listdir(local["RESULTS"]))
        check(results == ["shard-0.json", "shard-1.json", "shard-2.json"],
              f"results after 3 pods: {results}")
        p = subprocess.run([ordo, "report"] +
                           [os.path.join(local["RESULTS"], r) for r in results] +
                           ["-o", os.path.join(tmp, "merged.md")], capture_output=True, text=True)
        check(p.returncode == 0, f"ordo report exited {p.returncode}: {p.stderr}")
        if p.returncode == 0:
            md = open(os.path.join(tmp, "merged.md")).read()
            check("all 3 shards, 6 runs made" in md, f"merged report: {md}")
    finally:
        shutil.rmtree(tmp)

    for f in failures:
        print("FAIL:", f)
    if not failures:
        print(f"{manifest}: Indexed Job of {completions} completions; replay line same as {sbatch}; "
              "3 pods run locally merged into all 3 shards")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
