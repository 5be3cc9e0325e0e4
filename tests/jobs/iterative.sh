#!/usr/bin/env bash
# sheaf pagerank and sheaf kmeans (multi-round jobs with a driver) at 1 to 4 ranks against
# python3 references: dangling nodes, a hub node holding most edges, explicit and seeded
# k-means initialisation, empty input and one record.
# shellcheck disable=SC2317
set -euo pipefail
# shellcheck source=tests/jobs/lib.sh disable=SC1091
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

have_python || skip_test "python3 is needed for the references"

# A random graph where node n1 receives a third of the edges, some nodes have no out-edges,
# plus a comment and a blank line.
awk 'BEGIN { srand(5); print "# src dst"
    for (i = 0; i < 4000; i++) printf "n%d n%d\n", int(rand() * 700), (rand() < 0.3 ? 1 : int(rand() * 800))
    print "" }' >"$TMP/edges.txt"

pagerank_ref() {
    python3 - "$@" <<'PY'
import sys
path, it, d = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
out, nodes = {}, set()
for line in open(path):
    t = line.split()
    if len(t) < 2 or t[0].startswith("#"): continue
    out.setdefault(t[0], []).append(t[1]); nodes.update(t[:2])
N = len(nodes)
r = {v: 1.0 / N for v in nodes}
for _ in range(it):
    D = sum(r[v] for v in nodes if v not in out)
    s = dict.fromkeys(nodes, 0.0)
    for u, ds in out.items():
        for v in ds: s[v] += r[u] / len(ds)
    r = {v: (1 - d) / N + d * (s[v] + D / N) for v in nodes}
for v in nodes: print(f"{v}\t{r[v]!r}")
PY
}

# close OUT REF TOL: the key TAB number lines of OUT's parts and REF agree to TOL.
close() {
    parts "$1" >"$1.all"
    python3 - "$1.all" "$2" "$3" <<'PY'
import sys
def load(p):
    return dict(l.rstrip("\n").split("\t", 1) for l in open(p) if l.strip())
a, b, tol = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
assert a.keys() == b.keys(), (len(a), len(b))
for k in a:
    xs, ys = a[k].replace("\t", ",").split(","), b[k].replace("\t", ",").split(",")
    assert len(xs) == len(ys), (k, a[k], b[k])
    for x, y in zip(xs, ys):
        assert abs(float(x) - float(y)) <= tol, (k, a[k], b[k])
PY
}

case_pagerank() {
    pagerank_ref "$TMP/edges.txt" 6 0.85 >"$TMP/pr.ref"
    each_np pr pagerank --iterations 6 -i "$TMP/edges.txt" --split-size 8K
    local out
    for out in $(outs pr); do
        close "$out" "$TMP/pr.ref" 1e-12 || fail "$out differs from the reference"
        [[ ! -e $out.work-pagerank ]] || fail "the work directory was left behind"
    done
    pagerank_ref "$TMP/edges.txt" 1 0.5 >"$TMP/pr1.ref"
    must_np 3 pagerank --iterations 1 --damping 0.5 -i "$TMP/edges.txt" -o "$TMP/pr1"
    close "$TMP/pr1" "$TMP/pr1.ref" 1e-12 || fail "one iteration differs"
}

case_pagerank_edge() {
    : >"$TMP/none.txt"
    must_np 2 pagerank -i "$TMP/none.txt" -o "$TMP/pre"
    [[ -z $(parts "$TMP/pre") ]] || fail "empty input gave output"
    printf 'a b\n' >"$TMP/one.txt"
    pagerank_ref "$TMP/one.txt" 3 0.85 >"$TMP/pro.ref"
    must_np 4 pagerank --iterations 3 -i "$TMP/one.txt" -o "$TMP/pro"
    close "$TMP/pro" "$TMP/pro.ref" 1e-12 || fail "one edge differs"
    local rc=0
    run_np 2 pagerank -i "$TMP/one.txt" -o "$TMP/pro" || rc=$?
    ((rc != 0)) || fail "an existing output was accepted"
}

# Three blobs, one of them holding most points.
awk 'BEGIN { srand(9); print "x,y,label"
    for (i = 0; i < 3000; i++) { c = (i % 10 < 7) ? 0 : (i % 10 < 9 ? 1 : 2)
        printf "%.4f,%.4f,p%d\n", c * 10 + rand() * 3, (c == 1 ? 20 : 0) + rand() * 3, i } }' \
    >"$TMP/pts.csv"
printf '1,1\n9,9\n12,1\n' >"$TMP/init.txt"

kmeans_ref() {
    python3 - "$@" <<'PY'
import csv, sys
path, init, it = sys.argv[1], sys.argv[2], int(sys.argv[3])
pts = [(float(r["x"]), float(r["y"])) for r in csv.DictReader(open(path, newline=""))]
cent = [tuple(map(float, l.split(","))) for l in open(init) if l.strip()]
for i in range(it):
    sums = [[0.0, 0.0, 0] for _ in cent]
    for p in pts:
        d = [(p[0] - c[0]) ** 2 + (p[1] - c[1]) ** 2 for c in cent]
        j = d.index(min(d))
        sums[j][0] += p[0]; sums[j][1] += p[1]; sums[j][2] += 1
    new = [(s[0] / s[2], s[1] / s[2]) if s[2] else c for s, c in zip(sums, cent)]
    if i == it - 1:
        for j, (c, s) in enumerate(zip(new, sums)):
            print(f"{j}\t{s[2]}\t{c[0]!r},{c[1]!r}")
    cent = new
PY
}

case_kmeans() {
    kmeans_ref "$TMP/pts.csv" "$TMP/init.txt" 4 >"$TMP/km.ref"
    each_np km kmeans --k 3 --iterations 4 --columns x,y --init "$TMP/init.txt" \
        -i "$TMP/pts.csv" --input-format csv --csv-header --csv-no-newlines --split-size 16K
    local out
    for out in $(outs km); do close "$out" "$TMP/km.ref" 1e-9 || fail "$out differs"; done
    # Seeded initialisation: the same answer at any rank count.
    local np
    for np in 1 3; do
        must_np "$np" kmeans --k 3 --iterations 8 --columns 0,1 --seed 42 -i "$TMP/pts.csv" \
            --input-format csv --csv-header -o "$TMP/kms-$np"
    done
    close "$TMP/kms-1" <(parts "$TMP/kms-3") 1e-9 || fail "seeded k-means depends on ranks"
    must_np 2 kmeans --k 3 --iterations 50 --tolerance 1e-9 --columns x,y --init "$TMP/init.txt" \
        -i "$TMP/pts.csv" --input-format csv --csv-header -o "$TMP/kmt"
    kmeans_ref "$TMP/pts.csv" "$TMP/init.txt" 20 >"$TMP/kmt.ref"
    close "$TMP/kmt" "$TMP/kmt.ref" 1e-6 || fail "--tolerance run differs from convergence"
}

case_kmeans_edge() {
    head -n 1 "$TMP/pts.csv" >"$TMP/nopts.csv"
    must_np 2 kmeans --k 3 --columns x,y -i "$TMP/nopts.csv" --input-format csv --csv-header \
        -o "$TMP/kme"
    [[ -z $(parts "$TMP/kme") ]] || fail "empty input gave output"
    head -n 2 "$TMP/pts.csv" >"$TMP/onept.csv"
    must_np 4 kmeans --k 3 --columns x,y -i "$TMP/onept.csv" --input-format csv --csv-header \
        -o "$TMP/km1"
    [[ $(parts "$TMP/km1" | cut -f2) == 1 ]] || fail "one point: $(parts "$TMP/km1")"
    local rc=0
    run_np 0 kmeans --k 3 --init "$TMP/onept.csv" -i "$TMP/pts.csv" --input-format csv \
        -o "$TMP/kmbad" || rc=$?
    ((rc != 0)) || fail "a bad --init file was accepted"
}

run_case "pagerank" case_pagerank
run_case "pagerank: empty, one edge, existing output" case_pagerank_edge
run_case "kmeans" case_kmeans
run_case "kmeans: empty, one point, bad --init" case_kmeans_edge
finish
