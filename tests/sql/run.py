#!/usr/bin/env python3
"""The SQL oracle test: every query of tests/sql/queries/*.sql run by `sheaf sql` under mpirun
and by DuckDB, answers compared.

    run.py SHEAF DATADIR WORKDIR [NPS]

Queries are separated by a line ending in `;`; `--` lines are comments. `@/` in a query stands
for DATADIR/. Each query runs at every rank count of NPS (default "1 2 3 4"; SHEAF_SQL_NPS), or
with SHEAF_SQL_ROTATE=1 at one rank count per query, taken in turn. Answers are compared as
tests/sql/sqlcmp.py says (rows sorted unless the query has an ORDER BY; numbers within 1e-9).
A query with a JOIN runs twice, broadcast and shuffled (--broadcast-limit 0).
A query for which DuckDB fails must fail in Sheaf too (exit 1 or 2).
SHEAF_SQL_SUBST="FROM=>TO|..." rewrites the tables of the corpus (say @/orders.csv to
@/pq/orders.parquet) before both run the queries, and keeps only the queries it rewrote. Prints one line per
failure and a summary; exit 0 when every query agreed, 1 otherwise."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sqlcmp import ordered, rows_of, same_rows  # noqa: E402

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
# SHEAF_SQL_ONLY=FILE,... keeps the queries of those files (nasty: queries/nasty.sql).
only = [x for x in os.environ.get("SHEAF_SQL_ONLY", "").split(",") if x]
if only:
    queries = [(qid, q) for qid, q in queries if qid.rsplit("-", 1)[0] in only]
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


failures = 0
runs = 0
for i, (qid, q) in enumerate(queries):
    is_ordered = ordered(q)  # ORDER BY of the query itself, not of a subquery
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
        if not same_rows(got, want, is_ordered):
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
