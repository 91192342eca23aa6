#!/usr/bin/env bash
# Compares the reference `dupfinder` with fdupes on a generated tree:
# same groups (after normalising both outputs), and how long each takes.
#
#   solutions/05-dupfinder/compare-fdupes.sh [WORKDIR]
#
# Needs: fdupes, python3 (to generate the tree), cargo; hyperfine and jq if
# present (else one run each, timed with `date` and `bc`). WORKDIR defaults to
# a fresh temporary directory (pass one to keep the tree between runs); the
# tree (5,839 file names, 398 MiB) is generated there once and reused.
# COLD=1 evicts the tree's file contents from the page cache before every
# timed run (fdatasync + posix_fadvise DONTNEED on each file: no root needed,
# other files untouched; directory metadata stays cached). RUNS=n sets the
# number of timed runs (default 10). PACKAGE=exercise-05 times your own
# build instead of the reference solution (both binaries are `dupfinder`).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if [[ -n ${1:-} ]]; then
  work=$1
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
tree=$work/tree
runs=${RUNS:-10}

command -v fdupes >/dev/null || { echo "fdupes is not installed (apt-get install fdupes)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed to generate the tree" >&2; exit 2; }

package=${PACKAGE:-solution-05}
echo "== building the release binary of $package"
(cd "$repo" && cargo build --quiet --release -p "$package")
dupfinder=$repo/target/release/dupfinder

mkdir -p "$work"
if [[ ! -f $work/expected.txt ]]; then
    echo "== generating the tree in $tree"
    rm -rf "$tree"
    python3 - "$tree" "$work/expected.txt" <<'PY'
import math, os, random, sys

tree, expected_path = sys.argv[1], sys.argv[2]
rng = random.Random(5)          # the same tree on every machine
dirs = [f"d{a:02}/s{b}" + ("/deep" if (a + b) % 3 == 0 else "")
        for a in range(40) for b in range(5)]
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
# 4,000 files with unique content, 16 B to 256 KiB (random bytes: from 16
# bytes on, two files never match by chance). Many small sizes collide by
# chance, so the hashing passes have real work to throw away.
uniques = []
for _ in range(4000):
    uniques.append(new_path())
    write(uniques[-1], os.urandom(log_size(16, 256 * 1024)))
# 300 pairs of one size, equal but for the LAST byte: same size, same first
# 4 KiB; only the full pass can tell them apart.
for _ in range(300):
    data = bytearray(os.urandom(log_size(8 * 1024, 256 * 1024)))
    write(new_path(), data)
    data[-1] ^= 0xFF
    write(new_path(), data)
# 400 groups of 2 to 4 identical files, 16 B to 2 MiB, scattered anywhere.
for _ in range(400):
    data = os.urandom(log_size(16, 2 * 1024 * 1024))
    groups.append([new_path() for _ in range(rng.randint(2, 4))])
    for p in groups[-1]:
        write(p, data)
# 3 pairs of 8 MiB.
for _ in range(3):
    data = os.urandom(8 * 1024 * 1024)
    groups.append([new_path(), new_path()])
    for p in groups[-1]:
        write(p, data)
# 20 empty files: ignored by both (fdupes -n, dupfinder's default).
for _ in range(20):
    write(new_path(), b"")
# 10 hard links to unique files and 5 symlinks: not duplicates for either.
# (Only unique files get hard links: for a group member, fdupes lists the
# name it met first and dupfinder the smallest, so the lists would differ.)
for i, target in enumerate(uniques[::400]):
    os.link(target, os.path.join(os.path.dirname(target), f"hardlink{i}.bin"))
for i, target in enumerate(uniques[:5]):
    os.symlink(target, os.path.join(tree, dirs[i], f"symlink{i}.bin"))

with open(expected_path, "w") as f:
    for g in groups:
        f.write("\t".join(sorted(g)) + "\n")
PY
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
bytes=$(du -sb "$tree" | cut -f1)
echo "== tree: $files files (plus 5 symlinks), $((bytes / 1024 / 1024)) MiB"

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//' || true)
echo "== machine: $(uname -m), $(nproc) CPUs${cpu:+ ($cpu)}; $(fdupes --version); $(rustc --version)"
echo "== checking that both find the same groups"
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
echo "same $(wc -l <"$work/expected.norm") groups from fdupes, dupfinder and the generator"

prepare=true
if [[ ${COLD:-0} == 1 ]]; then
    prepare="python3 -c 'import os,sys
for d, _, fs in os.walk(sys.argv[1]):
    for f in fs:
        p = os.path.join(d, f)
        if os.path.islink(p): continue
        fd = os.open(p, os.O_RDONLY); os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' $tree"
    echo "== timing, COLD page cache (tree evicted before every run)"
else
    echo "== timing, warm page cache"
fi

threads=$(nproc)
if command -v hyperfine >/dev/null && command -v jq >/dev/null; then
    hyperfine --warmup 1 --runs "$runs" --ignore-failure --prepare "$prepare" \
        --export-json "$work/times.json" \
        -n fdupes "fdupes -r -n -q $tree" \
        -n "dupfinder -j1" "$dupfinder -j1 $tree" \
        -n "dupfinder ($threads threads)" "$dupfinder $tree" \
        -n "dupfinder -j8" "$dupfinder -j8 $tree"
    mean() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .mean' "$work/times.json"; }
    f=$(mean fdupes)
    one=$(mean "dupfinder -j1")
    all=$(mean "dupfinder ($threads threads)")
    eight=$(mean "dupfinder -j8")
else
    seconds() {
        local start end
        eval "$prepare"
        start=$(date +%s.%N)
        "$@" >/dev/null || true
        end=$(date +%s.%N)
        echo "$end - $start" | bc
    }
    f=$(seconds fdupes -r -n -q "$tree")
    one=$(seconds "$dupfinder" -j1 "$tree")
    all=$(seconds "$dupfinder" "$tree")
    eight=$(seconds "$dupfinder" -j8 "$tree")
    echo "fdupes: ${f}s, dupfinder -j1: ${one}s, dupfinder: ${all}s," \
        "dupfinder -j8: ${eight}s (one run each)"
fi
awk -v f="$f" -v one="$one" -v all="$all" -v eight="$eight" -v t="$threads" 'BEGIN {
    printf "time ratios (above 1: the second is faster)\n"
    printf "  fdupes / dupfinder (%d threads, the default) = %.2f\n", t, f / all
    printf "  dupfinder -j1 / dupfinder (%d threads)       = %.2f\n", t, one / all
    printf "  dupfinder -j1 / dupfinder -j8               = %.2f\n", one / eight
}'
