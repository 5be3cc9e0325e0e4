#!/usr/bin/env python3
"""The SQL oracle test: every query of tests/sql/queries/*.sql run by `sheaf sql` under mpirun
and by DuckDB, answers compared.

    run.py SHEAF DATADIR WORKDIR [NPS]

Queries are separated by a line ending in `;`; `--` lines are comments. `@/` in a query stands
for DATADIR/. Each query runs at every rank count of NPS (default "1 2 3 4"; SHEAF_SQL_NPS), or
with SHEAF_SQL_ROTATE=1 at one rank count per query, taken in turn. Comparison:
  - the header is not compared (DuckDB and Sheaf name expressions differently), the rows are;
  - a query without ORDER BY (its own, not a subquery's): both answers sorted first; with ORDER BY, in order, so the corpus
    orders by enough keys to make the order total (the tie rule: rows equal on every ORDER BY
    key come in an unspecified order; Sheaf breaks ties by the output values);
  - cells that both read as numbers are equal within a relative 1e-9 (sums of doubles depend
    on the order of addition); others must be equal as text.
A query with a JOIN runs twice, broadcast and shuffled (--broadcast-limit 0).
A query for which DuckDB fails must fail in Sheaf too (exit 1 or 2).
SHEAF_SQL_SUBST="FROM=>TO|..." rewrites the tables of the corpus (say @/orders.csv to
@/pq/orders.parquet) before both run the queries, and keeps only the queries it rewrote. Prints one line per
failure and a summary; exit 0 when every query agreed, 1 otherwise."""
import csv
import io
import math
import os
import re
import subprocess
import sys

sheaf, data, work = sys.argv[1], sys.argv[2], sys.argv[3]
nps = (sys.argv[4] if len(sys.argv) > 4 else os.environ.get("SHEAF_SQL_NPS", "1 2 3 4")).split()
rotate = os.environ.get("SHEAF_SQL_ROTATE") == "1"
top = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
mpirun = os.environ.get("MPIRUN", "mpirun")
qdir = os.path.join(top, "tests", "sql", "queries")

queries = []
for name in sorted(os.listdir(qdir)):
    if not name.endswith(".sql"):
        continue
    cur = []
    with open(os.path.join(qdir, name)) as f:
        for line in f:
            s = line.rstrip("\n")
            if s.strip().startswith("--") or not s.strip():
                continue
            cur.append(s)
            if s.rstrip().endswith(";"):
                q = " ".join(cur).strip().rstrip(";").replace("@/", data + "/")
                queries.append((f"{name[:-4]}-{len(queries) + 1}", q))
                cur = []

subst = [x.split("=>", 1) for x in os.environ.get("SHEAF_SQL_SUBST", "").split("|") if x]
if subst:
    kept = []
    for qid, q in queries:
        q2 = q
        for a, b in subst:
            q2 = q2.replace(a.replace("@/", data + "/"), b.replace("@/", data + "/"))
        if q2 != q:
            kept.append((qid, q2))
    queries = kept
# SHEAF_SQL_EVERY=N keeps every Nth query: the sanitizer build runs a third of the corpus, its
# runs being several times slower (tests/sanitize/run.sh); the normal build runs all of it.
every = max(1, int(os.environ.get("SHEAF_SQL_EVERY") or 1))
queries = queries[::every]

os.makedirs(os.path.join(work, "duck"), exist_ok=True)
with open(os.path.join(work, "queries.tsv"), "w") as f:
    for qid, q in queries:
        f.write(f"{qid}\t{q}\n")
env = dict(os.environ, SHEAF_ORACLE_DIR=os.path.join(top, "tests", "oracle"))
subprocess.run(["node", os.path.join(top, "tests", "sql", "oracle.mjs"),
                os.path.join(work, "queries.tsv"), os.path.join(work, "duck")], check=True,
               env=env, timeout=600)


def num(s):
    try:
        return float(s)
    except ValueError:
        return None


def sort_key(row):
    out = []
    for c in row:
        x = num(c)
        out.append(("n", float(f"{x:.9g}"), "") if x is not None and not math.isnan(x)
                   else ("s", 0.0, c))
    return out


def same_cell(a, b):
    if a == b:
        return True
    x, y = num(a), num(b)
    if x is None or y is None:
        return False
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y))


def rows_of(text):
    r = list(csv.reader(io.StringIO(text)))
    return r[1:] if r else []


failures = 0
runs = 0
for i, (qid, q) in enumerate(queries):
    top = q  # ORDER BY of the query itself, not of a subquery: parentheses removed
    while True:
        t2 = re.sub(r"\([^()]*\)", "", top)
        if t2 == top:
            break
        top = t2
    ordered = re.search(r"\border\s+by\b", top, re.I) is not None
    duck_csv = os.path.join(work, "duck", qid + ".csv")
    duck_err = os.path.join(work, "duck", qid + ".err")
    # a join runs both ways: broadcast (its right table is small) and shuffled
    variants = [[], ["--broadcast-limit", "0"]] if re.search(r"\bjoin\b", q, re.I) else [[]]
    for np, extra in [(n, v) for n in ([nps[i % len(nps)]] if rotate else nps) for v in variants]:
        runs += 1
        cmd = [mpirun, "-np", np, "--oversubscribe", sheaf, "sql", "--format", "csv"] + extra + [q]
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=300)
        if os.path.exists(duck_err):
            if p.returncode not in (1, 2):
                failures += 1
                print(f"FAIL {qid} np={np}: DuckDB fails ({open(duck_err).read().strip()[:200]})"
                      f" but sheaf exits {p.returncode}\n  {q}")
            continue
        if p.returncode != 0:
            failures += 1
            print(f"FAIL {qid} np={np} {' '.join(extra)}: exit {p.returncode}: {p.stderr.strip()[:500]}\n  {q}")
            continue
        got = rows_of(p.stdout)
        want = rows_of(open(duck_csv).read())
        if not ordered:
            got.sort(key=sort_key)
            want.sort(key=sort_key)
        ok = len(got) == len(want) and all(
            len(a) == len(b) and all(same_cell(x, y) for x, y in zip(a, b))
            for a, b in zip(got, want))
        if not ok:
            failures += 1
            print(f"FAIL {qid} np={np} {' '.join(extra)}: {len(got)} rows, DuckDB {len(want)}\n  {q}")
            for a, b in list(zip(got, want))[:50]:
                if a != b:
                    print(f"    sheaf: {a}\n    duck:  {b}")
                    break
            else:
                print(f"    sheaf: {got[len(want):][:2]} duck: {want[len(got):][:2]}")
print(f"{len(queries)} queries, {runs} runs, {failures} failed")
sys.exit(1 if failures else 0)
