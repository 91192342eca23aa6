#!/usr/bin/env bash
# Compares the reference `dupfinder` with fdupes on a generated tree: first
# that both find the same groups as the generator made (after normalising
# both outputs), then how long each takes.
#
#   solutions/05-dupfinder/compare-fdupes.sh [WORKDIR]
#
# Needs: fdupes (apt-get install fdupes), python3 (it generates the tree and
# does the arithmetic), cargo. WORKDIR defaults to a fresh temporary
# directory, removed on exit; pass one to keep the tree (5,839 file names,
# 398 MiB) between runs: it is generated there once and reused.
#
# Settings (environment):
#   RUNS=n       timed runs of each command (default 10), after one warm-up
#                run each; the commands take turns, so that a background
#                load slows all of them alike. RUNS=0 only checks the groups.
#   COLD=1       evict the tree's file contents from the page cache before
#                every timed run (fdatasync + posix_fadvise DONTNEED on each
#                file: no root needed, other files untouched; directory
#                metadata stays cached).
#   PACKAGE=exercise-05   time your own build (binary `dupfinder`) instead
#                of the reference solution (binary `dupfinder-reference`).
#   PROFILE=dev  use a debug build instead of --release (for a quick check).
#   SCALE=small  a tree of about 500 files and 15 MiB instead of the full
#                one (for a quick check).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cargo=${CARGO:-cargo}
target=${CARGO_TARGET_DIR:-$repo/target}
if [[ -n ${1:-} ]]; then
    work=$1
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi
tree=$work/tree
runs=${RUNS:-10}
scale=${SCALE:-full}

command -v fdupes >/dev/null || { echo "fdupes is not installed (apt-get install fdupes)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed to generate the tree" >&2; exit 2; }

package=${PACKAGE:-solution-05}
case $package in
    solution-05) binary=dupfinder-reference ;;
    *) binary=dupfinder ;;
esac
case ${PROFILE:-release} in
    release) profile_flag=--release; profile_dir=release ;;
    dev) profile_flag=; profile_dir=debug ;;
    *) echo "PROFILE must be release or dev" >&2; exit 2 ;;
esac
echo "== building $binary ($package, ${PROFILE:-release})"
(cd "$repo" && "$cargo" build --quiet $profile_flag -p "$package" --bin "$binary")
dupfinder=$target/$profile_dir/$binary

mkdir -p "$work"
if [[ ! -f $work/expected.txt || $(cat "$work/scale" 2>/dev/null) != "$scale" ]]; then
    echo "== generating the $scale tree in $tree"
    rm -rf "$tree"
    python3 - "$tree" "$work/expected.txt" "$scale" <<'PY'
import math, os, random, sys

tree, expected_path, scale = sys.argv[1], sys.argv[2], sys.argv[3]
small = scale == "small"
rng = random.Random(5)          # the same structure on every machine
dirs = [f"d{a:02}/s{b}" + ("/deep" if (a + b) % 3 == 0 else "")
        for a in range(8 if small else 40) for b in range(5)]
for d in dirs:
    os.makedirs(os.path.join(tree, d), exist_ok=True)
counter = 0

def new_path():
    global counter
    counter += 1
    return os.path.join(tree, rng.choice(dirs), f"f{counter:05}.bin")

def log_size(lo, hi):
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))

def write(path, data):
    with open(path, "wb") as f:
        f.write(data)

groups = []
# Files with unique content, 16 B to 256 KiB (random bytes: from 16 bytes
# on, two files never match by chance). Many small sizes collide by chance,
# so the hashing passes have real work to throw away.
uniques = []
for _ in range(400 if small else 4000):
    uniques.append(new_path())
    write(uniques[-1], os.urandom(log_size(16, 256 * 1024)))
# Pairs of one size, equal but for the LAST byte: same size, same first
# 4 KiB; only the full pass can tell them apart.
for _ in range(30 if small else 300):
    data = bytearray(os.urandom(log_size(8 * 1024, 256 * 1024)))
    write(new_path(), data)
    data[-1] ^= 0xFF
    write(new_path(), data)
# Groups of 2 to 4 identical files, 16 B to 2 MiB (256 KiB when small),
# scattered anywhere.
for _ in range(40 if small else 400):
    data = os.urandom(log_size(16, (256 if small else 2048) * 1024))
    groups.append([new_path() for _ in range(rng.randint(2, 4))])
    for p in groups[-1]:
        write(p, data)
# Pairs of 8 MiB (1 MiB when small).
for _ in range(1 if small else 3):
    data = os.urandom((1 if small else 8) * 1024 * 1024)
    groups.append([new_path(), new_path()])
    for p in groups[-1]:
        write(p, data)
# Empty files: ignored by both (fdupes -n, dupfinder's default).
for _ in range(5 if small else 20):
    write(new_path(), b"")
# Hard links to unique files and symlinks: not duplicates for either.
# (Only unique files get hard links: for a group member, fdupes lists the
# name it met first and dupfinder the smallest, so the lists would differ.)
for i, target in enumerate(uniques[::400 if not small else 200]):
    os.link(target, os.path.join(os.path.dirname(target), f"hardlink{i}.bin"))
for i, target in enumerate(uniques[:2 if small else 5]):
    os.symlink(target, os.path.join(tree, dirs[i], f"symlink{i}.bin"))

with open(expected_path, "w") as f:
    for g in groups:
        f.write("\t".join(sorted(g)) + "\n")
PY
    echo "$scale" >"$work/scale"
fi

# One line per group: its paths sorted and joined by tabs; lines sorted.
# (The generated names have no spaces, tabs or newlines.)
normalise() {
    awk 'NF == 0 { if (line != "") print line; line = ""; next }
         { line = (line == "" ? $0 : line "\t" $0) }
         END { if (line != "") print line }' |
        while IFS= read -r line; do tr '\t' '\n' <<<"$line" | sort | paste -sd '\t'; done |
        sort
}

files=$(find "$tree" -type f | wc -l)
links=$(find "$tree" -type l | wc -l)
bytes=$(du -sb "$tree" | cut -f1)
echo "== tree: $files files (plus $links symlinks), $((bytes / 1024 / 1024)) MiB"

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//' || true)
echo "== machine: $(uname -m), $(nproc) logical CPUs${cpu:+ ($cpu)}, load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
echo "== $(fdupes --version); $(rustc --version)"
echo "== checking that both find the generated groups"
sort "$work/expected.txt" >"$work/expected.norm"
fdupes -r -n -q "$tree" | normalise >"$work/fdupes.norm"
rc=0
"$dupfinder" "$tree" >"$work/dupfinder.out" || rc=$?
if [[ $rc -ne 1 ]]; then
    echo "dupfinder exited with $rc, expected 1 (duplicates found)" >&2
    exit 1
fi
normalise <"$work/dupfinder.out" >"$work/dupfinder.norm"
for tool in fdupes dupfinder; do
    if ! diff -q "$work/expected.norm" "$work/$tool.norm" >/dev/null; then
        echo "MISMATCH: $tool's groups differ from the generated ones:" >&2
        diff "$work/expected.norm" "$work/$tool.norm" | head -20 >&2
        exit 1
    fi
done
same="same $(wc -l <"$work/expected.norm") groups from fdupes, dupfinder and the generator ($files files)"
if [[ $runs -eq 0 ]]; then
    echo "$same"
    exit 0
fi
echo "$same"

evict() {
    python3 - "$tree" <<'PY'
import os, sys
for d, _, fs in os.walk(sys.argv[1]):
    for f in fs:
        p = os.path.join(d, f)
        if os.path.islink(p):
            continue
        fd = os.open(p, os.O_RDONLY)
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
PY
}

threads=$(nproc)
names=("fdupes" "dupfinder -j1" "dupfinder ($threads threads, default)" "dupfinder -j8")
commands=("fdupes -r -n -q $tree" "$dupfinder -j1 $tree" "$dupfinder $tree" "$dupfinder -j8 $tree")
if [[ ${COLD:-0} == 1 ]]; then
    echo "== timing, COLD page cache (tree evicted before every run), $runs runs each"
else
    echo "== timing, warm page cache, $runs runs each after one warm-up run"
fi
: >"$work/times.txt"
for round in $(seq 0 "$runs"); do
    for i in "${!commands[@]}"; do
        [[ ${COLD:-0} == 1 ]] && evict
        start=$(date +%s.%N)
        ${commands[$i]} >/dev/null 2>&1 || true
        end=$(date +%s.%N)
        # Round 0 is the warm-up: not counted.
        [[ $round -gt 0 ]] && echo "$i $start $end" >>"$work/times.txt"
    done
done
python3 - "$work/times.txt" "${names[@]}" <<'PY'
import statistics, sys
path, names = sys.argv[1], sys.argv[2:]
times = {i: [] for i in range(len(names))}
for line in open(path):
    i, start, end = line.split()
    times[int(i)].append(float(end) - float(start))
print(f"{'command':<34} {'min':>8} {'median':>8} {'max':>8}   (seconds, {len(times[0])} runs)")
for i, name in enumerate(names):
    t = times[i]
    print(f"{name:<34} {min(t):8.3f} {statistics.median(t):8.3f} {max(t):8.3f}")
med = [statistics.median(times[i]) for i in range(len(names))]
print("ratios of medians (above 1: the second is faster)")
print(f"  fdupes / dupfinder (default)   = {med[0] / med[2]:.2f}")
print(f"  dupfinder -j1 / default        = {med[1] / med[2]:.2f}")
print(f"  dupfinder -j1 / dupfinder -j8  = {med[1] / med[3]:.2f}")
PY
