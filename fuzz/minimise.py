#!/usr/bin/env python3
"""Shrinks a target's corpus to at most CAP files (default 60) into fuzz/corpus/<target>/.

Usage (after `cargo +nightly fuzz build`): fuzz/minimise.py <target> [CAP]

Pools the committed corpus (fuzz/corpus/<target>), the seeds (fuzz/seeds/<target>, from
seeds.py) and the scratch corpus (fuzz/corpus-work/<target>, from run.sh); asks the target itself
(libFuzzer's -merge with a control file) which coverage edges and features each input reaches;
keeps the handcrafted seeds (named files, except the raw Wycheproof tokens, which compete like
the rest), then adds greedily the input that reaches the most edges not yet reached (then
features, then the smaller one) until CAP files or nothing new. `cargo fuzz cmin` keeps every
input that adds any feature, hundreds of files here; this keeps the corpus small.
"""
import os, re, shutil, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
target = sys.argv[1]
cap = int(sys.argv[2]) if len(sys.argv) > 2 else 60
target_dir = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
binary = os.path.join(target_dir, "x86_64-unknown-linux-gnu", "release", target)

pool = tempfile.mkdtemp(prefix="fuzz-pool-")
for sub in ("corpus", "seeds", "corpus-work"):
    d = os.path.join(HERE, sub, target)
    if os.path.isdir(d):
        for name in os.listdir(d):
            shutil.copy(os.path.join(d, name), pool)

control = os.path.join(pool + "-control")
out = tempfile.mkdtemp(prefix="fuzz-merge-")
subprocess.run([binary, "-merge=1", "-use_value_profile=0", "-merge_control_file=" + control, out, pool],
               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

lines = open(control).read().split("\n")
n = int(lines[0])
files = lines[2:2 + n]
cov, ft = {}, {}
for line in lines[2 + n:]:
    p = line.split()
    if p and p[0] in ("COV", "FT"):
        (cov if p[0] == "COV" else ft)[int(p[1])] = set(map(int, p[2:]))
size = {i: os.path.getsize(files[i]) for i in cov}
hashed = re.compile(r"^[0-9a-f]{40}$")


def handcrafted(i):
    name = os.path.basename(files[i])
    return not hashed.match(name) and not re.match(r"^wycheproof-\d+$", name)


chosen = [i for i in cov if handcrafted(i)][:cap]
edges = set().union(set(), *(cov[i] for i in chosen))
features = set().union(set(), *(ft.get(i, set()) for i in chosen))
rest = [i for i in cov if i not in chosen]
while len(chosen) < cap and rest:
    best = max(rest, key=lambda i: (len(cov[i] - edges), len(ft.get(i, set()) - features), -size[i]))
    if not cov[best] - edges and not ft.get(best, set()) - features:
        break
    chosen.append(best)
    rest.remove(best)
    edges |= cov[best]
    features |= ft.get(best, set())

all_edges = set().union(*cov.values())
all_features = set().union(*ft.values())
dest = os.path.join(HERE, "corpus", target)
shutil.rmtree(dest, ignore_errors=True)
os.makedirs(dest)
for i in chosen:
    shutil.copy(files[i], dest)
print(f"{target}: {len(chosen)} of {len(cov)} inputs kept, {len(edges)}/{len(all_edges)} edges, "
      f"{len(features)}/{len(all_features)} features, {sum(size[i] for i in chosen)} bytes "
      f"(largest {max(size[i] for i in chosen)})")
shutil.rmtree(pool)
shutil.rmtree(out)
os.remove(control)
