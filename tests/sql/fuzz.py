#!/usr/bin/env python3
"""Random queries: a seeded generator of queries within the dialect of docs/sql.md, each run by
`sheaf sql` under mpirun and by DuckDB, the answers compared as tests/sql/sqlcmp.py says.

    fuzz.py SHEAF DATADIR WORKDIR [--seed S] [--count N] [--nps "1 2 3"] [--print]

DATADIR holds tests/sql/gen.py's tables. The queries mix the column types and NULLs in
expressions (arithmetic, CASE, CAST, LIKE, IN, BETWEEN, coalesce, string and date functions),
WHERE, GROUP BY of several expressions, aggregates (count(DISTINCT) too), HAVING, DISTINCT,
ORDER BY with NULLS FIRST/LAST and LIMIT/OFFSET (ordered by every output column after the
generated keys, so the order is total), inner and left joins (broadcast or shuffled), and
subqueries in FROM. Query i runs at the i-th rank count of NPS in turn. A query that DuckDB
rejects must fail in Sheaf (exit 1 or 2); one that DuckDB answers must be answered alike,
except a deliberate difference of docs/sql.md: integer overflow is an error (DuckDB may
widen, or evaluate a branch Sheaf skips). Fails, too, on a crash, a sanitizer report (any
output on stderr of a query that succeeded) or a query that takes longer than a minute.
--print writes the queries and runs nothing. Exit 0 when every query agreed, 1 otherwise;
each failure is printed with the query, so `fuzz.py ... --seed S` replays it."""
import argparse
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sqlcmp import ordered, rows_of, same_rows  # noqa: E402

I, D, S, B, DT, TS = "int", "double", "varchar", "bool", "date", "timestamp"
NUM = (I, D)

# the tables of gen.py the queries read, with their columns' types (as DuckDB infers them)
NASTY = [("id", I), ("k", I), ("big", I), ("d", D), ("s", S), ("dt", DT), ("ts", TS), ("b", B)]
TABLES = {
    "orders": ("@/orders.csv", [("o_orderkey", I), ("o_custkey", I), ("o_orderstatus", S),
                                ("o_totalprice", D), ("o_orderdate", DT), ("o_orderpriority", S),
                                ("o_urgent", B), ("o_ts", TS)]),
    "lineitem": ("@/lineitem/*.csv", [("l_orderkey", I), ("l_linenumber", I), ("l_quantity", I),
                                      ("l_extendedprice", D), ("l_discount", D), ("l_tax", D),
                                      ("l_returnflag", S), ("l_linestatus", S), ("l_shipdate", DT),
                                      ("l_shipmode", S), ("l_comment", S)]),
    "nasty": ("@/nasty.csv", NASTY),
    "nasty2": ("@/nasty2.csv", NASTY),
    "big": ("@/big.csv", [("id", I), ("v", I)]),
    "empty": ("@/empty.csv", [("a", S), ("b", S), ("c", S)]),
}
# equi-join keys: (left table, right table, left column, right column)
JOINS = [("orders", "lineitem", "o_orderkey", "l_orderkey"),
         ("lineitem", "orders", "l_orderkey", "o_orderkey"),
         ("nasty", "nasty2", "k", "k"), ("nasty", "nasty2", "s", "s"),
         ("nasty", "nasty2", "d", "d"), ("nasty", "nasty2", "dt", "dt"),
         ("nasty2", "nasty", "k", "id"), ("nasty", "nasty2", "b", "b"),
         ("orders", "nasty", "o_custkey", "k"), ("nasty", "orders", "k", "o_custkey"),
         ("nasty", "nasty2", "k", "d"), ("lineitem", "nasty", "l_linenumber", "k")]
STRINGS = ["", "a", "A", "abc", "a,b", "x y", "é", "naïve café", "1", "%", "AIR", "F", "O",
           "REG AIR", "say \"hi\"", "日本語", "  pad  ", "Zebra", "1-URGENT", "quick, brown"]
LIKES = ["%", "a%", "%a", "%a%", "_", "__", "A%", "%I%", "_-%", "%é%", "%,%", "%\"%", "日%",
         "%R_", "R%L", "", "%  %"]
DATES = ["1970-01-01", "1969-12-31", "1994-01-01", "1995-06-30", "1998-12-01", "2000-02-29"]
UNITS = ["year", "quarter", "month", "week", "day", "hour", "minute", "second"]
CASTS = {I: "BIGINT", D: "DOUBLE", S: "VARCHAR", B: "BOOLEAN", DT: "DATE", TS: "TIMESTAMP"}
DOUBLES = ["0.5", "2.5", "-1.5", "0.0", "100.25", "1e3", "3.0"]


class Gen:
    def __init__(self, rng):
        self.r = rng

    def pick(self, xs):
        return self.r.choice(xs)

    def chance(self, p):
        return self.r.random() < p

    # ---- expressions: (text, type) over cols, a list of (reference, type)
    def lit(self, t):
        r = self.r
        if t == I:
            return str(self.pick([0, 1, 2, 3, 5, 7, 10, 25, 100, 1000, -1, -3]))
        if t == D:
            return self.pick(DOUBLES)
        if t == S:
            return "'" + self.pick(STRINGS).replace("'", "''") + "'"
        if t == B:
            return self.pick(["true", "false"])
        if t == DT:
            return f"DATE '{self.pick(DATES)}'"
        if t == TS:
            return f"TIMESTAMP '{self.pick(DATES)} {self.pick(['00:00:00', '12:30:00', '23:59:59.5'])}'"
        raise ValueError(t)

    def typ(self, cols, choices):
        """A type of choices, mostly one that a column of cols has."""
        have = [t for t in choices if any(ct == t for _, ct in cols)]
        return self.pick(have if have and self.r.random() < 0.85 else choices)

    @staticmethod
    def has_col(text, cols):
        low = text.lower()
        return any(c.lower() in low for c, _ in cols)

    def col(self, cols, t):
        xs = [c for c, ct in cols if ct == t]
        if not xs:
            return None
        c = self.pick(xs)
        return c.upper() if self.r.random() < 0.05 else c  # names are case-insensitive

    def expr(self, cols, t, depth=0):
        """An expression of type t."""
        r = self.r
        if depth >= 3 or r.random() < 0.3:
            c = self.col(cols, t)
            if c and r.random() < 0.8:
                return c
            if r.random() < 0.05:  # typed: DuckDB cannot choose a function for a bare NULL
                return f"CAST(NULL AS {CASTS[t]})"
            return self.lit(t)
        e = lambda tt: self.expr(cols, tt, depth + 1)  # noqa: E731
        k = r.random()
        if k < 0.08:
            return f"CASE WHEN {self.cond(cols, depth + 1)} THEN {e(t)} ELSE {e(t)} END"
        if k < 0.12:
            return f"CASE WHEN {self.cond(cols, depth + 1)} THEN {e(t)} END"
        if k < 0.16:
            x = self.pick([I, S, B])
            arms = " ".join(f"WHEN {self.lit(x)} THEN {e(t)}" for _ in range(r.randint(1, 3)))
            return f"CASE {e(x)} {arms} ELSE {e(t)} END"
        if k < 0.22:
            return f"coalesce({', '.join(e(t) for _ in range(r.randint(2, 3)))})"
        if t == I:
            return self.pick([
                lambda: f"({e(I)} {self.pick(['+', '-', '*'])} {e(I)})",
                lambda: f"({e(I)} {self.pick(['//', '%'])} {e(I)})",
                lambda: f"abs({e(I)})", lambda: f"(-{e(I)})",
                lambda: f"length({e(S)})",
                lambda: f"{self.pick(['year', 'month', 'day'])}({e(self.pick([DT, TS]))})",
                # round first: a DOUBLE's cast rounds half away from zero (docs/sql.md),
                # DuckDB's to even
                lambda: f"CAST(round({e(D)}) AS BIGINT)", lambda: f"CAST({e(B)} AS BIGINT)",
                lambda: f"round({e(I)})",
                lambda: f"CAST({self.pick(['1', '-42', ' 7', '12'])!r} AS BIGINT)",
            ])()
        if t == D:
            return self.pick([
                lambda: f"({e(D)} {self.pick(['+', '-', '*'])} {e(self.pick(NUM))})",
                lambda: f"({e(self.pick(NUM))} / {e(self.pick(NUM))})",
                lambda: f"({e(D)} // {e(self.pick(NUM))})",
                lambda: f"abs({e(D)})", lambda: f"(-{e(D)})",
                lambda: f"round({e(D)}, {r.randint(-1, 3)})", lambda: f"round({e(D)})",
                lambda: f"CAST({e(I)} AS DOUBLE)",
                lambda: f"CAST({self.pick(['1.5', '-0.25', '1e2', '3'])!r} AS DOUBLE)",
            ])()
        if t == S:
            return self.pick([
                lambda: f"lower({e(S)})", lambda: f"upper({e(S)})",
                lambda: f"substr({e(S)}, {r.randint(-4, 4)})",
                lambda: f"substr({e(S)}, {r.randint(-4, 4)}, {r.randint(0, 4)})",
                lambda: f"{self.pick(['trim', 'ltrim', 'rtrim'])}({e(S)})",
                lambda: f"({e(S)} || {e(self.pick([S, S, I, D, DT, B]))})",
                lambda: f"concat({e(S)}, {e(self.pick([S, I, DT]))})",
                lambda: f"CAST({e(self.pick([I, DT, TS, B]))} AS VARCHAR)",
            ])()
        if t == B:
            if r.random() < 0.5:
                return self.cond(cols, depth)
            return f"CAST({e(I)} AS BOOLEAN)"
        if t == DT:
            return self.pick([lambda: f"CAST({e(TS)} AS DATE)",
                              lambda: f"CAST('{self.pick(DATES)}' AS DATE)"])()
        if t == TS:
            return self.pick([
                lambda: f"date_trunc('{self.pick(UNITS)}', {e(self.pick([DT, TS]))})",
                lambda: f"CAST({e(DT)} AS TIMESTAMP)"])()
        raise ValueError(t)

    def cond(self, cols, depth=0):
        """A boolean condition."""
        r = self.r
        e = lambda tt: self.expr(cols, tt, depth + 1)  # noqa: E731
        k = r.random()
        if depth < 2 and k < 0.2:
            op = self.pick(["AND", "OR"])
            return f"({self.cond(cols, depth + 1)} {op} {self.cond(cols, depth + 1)})"
        if depth < 2 and k < 0.25:
            return f"(NOT {self.cond(cols, depth + 1)})"
        t = self.typ(cols, [I, I, D, S, S, DT, TS, B])
        k = r.random()
        if k < 0.35:
            other = self.pick(NUM) if t in NUM else (self.pick([DT, TS]) if t in (DT, TS) else t)
            rhs = e(other) if r.random() < 0.6 else self.lit(other)
            if t in (I, DT, TS) and r.random() < 0.2:  # a string literal is cast to t
                rhs = self.lit(t).replace("DATE ", "").replace("TIMESTAMP ", "")
                rhs = rhs if rhs.startswith("'") else f"'{rhs}'"
            lhs = e(t)
            if "date_trunc" in lhs + rhs and not (self.has_col(lhs, cols) and self.has_col(rhs, cols)):
                # DuckDB's rewrite of date_trunc(u, x) against a constant is true for a NULL x
                return f"({lhs} IS NULL)"
            return f"({lhs} {self.pick(['=', '<>', '!=', '<', '<=', '>', '>='])} {rhs})"
        if k < 0.5:
            return f"({e(t)} IS {self.pick(['', 'NOT '])}NULL)"
        if k < 0.62:
            return f"({e(S)} {self.pick(['', 'NOT '])}LIKE '{self.pick(LIKES)}')"
        if k < 0.75 and t != B:
            items = [self.lit(t) for _ in range(r.randint(1, 4))]
            if r.random() < 0.2:
                items.append("NULL")
            return f"({e(t)} {self.pick(['', 'NOT '])}IN ({', '.join(items)}))"
        if k < 0.87 and t != B:
            a, b = sorted([self.lit(t), self.lit(t)]) if t in (S,) else (self.lit(t), self.lit(t))
            return f"({e(t)} {self.pick(['', 'NOT '])}BETWEEN {a} AND {b})"
        c = self.col(cols, B)
        return c if c else f"({e(I)} > {self.lit(I)})"

    def agg(self, cols):
        """An aggregate call and its result type."""
        r = self.r
        k = r.random()
        if k < 0.15:
            return "count(*)", I
        t = self.typ(cols, [I, I, D, S, DT, TS, B])
        x = self.expr(cols, t, 2)
        if k < 0.3:
            return f"count({x})", I
        if k < 0.42:
            return f"count(DISTINCT {x})", I
        if k < 0.7 or t not in NUM:
            return f"{self.pick(['min', 'max'])}({x})", t
        fn = self.pick(["sum", "avg", "median", "sum", "approx_quantile"])
        if fn == "sum" and "big" in x:  # a total out of BIGINT's range is an error by design
            fn = "avg"
        if fn == "approx_quantile":
            return f"approx_quantile({x}, {self.pick(['0.1', '0.5', '0.75', '1.0', '0.0'])})", t
        return f"{fn}({x})", (t if fn == "sum" else D)

    # ---- queries: (text, [(output name, type)])
    def source(self, depth):
        """A FROM clause: (text, columns usable in expressions)."""
        r = self.r
        if depth < 2 and r.random() < 0.2:
            q, out = self.query(depth + 1, sub=True)
            alias = self.pick(["", " t", " AS sq"])
            return f"({q}){alias}", out, False
        if r.random() < 0.3:
            lt, rt, lk, rk = self.pick(JOINS)
            lpath, lcols = TABLES[lt]
            rpath, rcols = TABLES[rt]
            kind = self.pick(["JOIN", "INNER JOIN", "LEFT JOIN", "LEFT OUTER JOIN"])
            on = f"l.{lk} = r.{rk}"
            if r.random() < 0.15:
                on = f"(l.{lk} + 1) = r.{rk}" if dict(lcols)[lk] in NUM and dict(rcols)[rk] in NUM else on
            elif r.random() < 0.2:
                both = [c for c, t in lcols if (c, t) in rcols and c != lk]
                if both:
                    c = self.pick(both)
                    on += f" AND r.{c} = l.{c}"
            if "LEFT" not in kind and r.random() < 0.2:
                on += f" AND {self.cond([('l.' + c, t) for c, t in lcols] + [('r.' + c, t) for c, t in rcols], 1)}"
            cols = [("l." + c, t) for c, t in lcols] + [("r." + c, t) for c, t in rcols]
            return f"'{lpath}' l {kind} '{rpath}' r ON {on}", cols, True
        name = self.pick(["orders", "lineitem", "nasty", "nasty", "nasty", "nasty2", "big",
                          "empty"] if depth == 0 else ["orders", "nasty", "nasty", "lineitem"])
        path, cols = TABLES[name]
        return f"'{path}'", cols, False

    def query(self, depth=0, sub=False):
        r = self.r
        frm, cols, joined = self.source(depth)
        where = f" WHERE {self.cond(cols)}" if r.random() < 0.6 else ""
        out = []
        sel = []
        grouped = r.random() < 0.45
        distinct = not grouped and r.random() < 0.15
        group = ""
        having = ""
        if grouped:
            keys = []
            for _ in range(r.randint(0, 3)):
                t = self.typ(cols, [I, S, S, B, DT, TS, I, D])
                keys.append((self.expr(cols, t, 2 if r.random() < 0.6 else 1), t))
            for i, (x, t) in enumerate(keys):
                sel.append(x)
                out.append((f"c{i}", t))
            for _ in range(r.randint(1, 3)):
                a, t = self.agg(cols)
                sel.append(a)
                out.append((f"c{len(out)}", t))
            if keys:
                refs = [str(i + 1) if r.random() < 0.3 else (f"c{i}" if r.random() < 0.2 else x)
                        for i, (x, t) in enumerate(keys)]
                group = " GROUP BY " + ", ".join(refs)
            if r.random() < 0.3:
                a, t = self.agg(cols)
                if t in NUM:
                    having = f" HAVING {a} {self.pick(['>', '<', '>=', '<>'])} {self.lit(self.pick(NUM))}"
                else:
                    having = f" HAVING {a} IS NOT NULL"
        else:
            for i in range(r.randint(1, 4)):
                t = self.typ(cols, [I, I, D, S, S, B, DT, TS])
                sel.append(self.expr(cols, t))
                out.append((f"c{i}", t))
        names = [f"c{i}" for i in range(len(sel))]
        items = ", ".join(f"{x} AS {n}" for x, n in zip(sel, names))
        q = f"SELECT {'DISTINCT ' if distinct else ''}{items} FROM {frm}{where}{group}{having}"
        # ORDER BY: a random key or two, then every output column, so the order is total
        if r.random() < (0.5 if not sub else 0.25):
            keys = []
            for _ in range(r.randint(0, 2)):
                x = self.col(cols, self.pick([I, S, D, DT]))  # a column: DuckDB rejects constants
                if grouped and r.random() < 0.3:
                    keys.append(self.agg(cols)[0])
                    continue
                keys.append(self.pick(names) if r.random() < 0.7 or grouped or distinct or not x
                            else x)
            keys += [str(i + 1) for i in range(len(names))]
            ks = []
            for k in keys:
                d = self.pick(["", " ASC", " DESC"])
                nl = self.pick(["", "", " NULLS FIRST", " NULLS LAST"])
                ks.append(k + d + nl)
            q += " ORDER BY " + ", ".join(ks)
            if r.random() < 0.6:
                q += f" LIMIT {r.randint(0, 12)}"
                if r.random() < 0.3:
                    q += f" OFFSET {r.randint(0, 5)}"
        if not sub and not ordered(q) and r.random() < 0.08:
            q = f"SELECT count(*) AS n FROM ({q} LIMIT {r.randint(0, 40)}{' OFFSET 3' if r.random() < 0.3 else ''})"
            out = [("n", I)]
        elif not sub and not grouped and not joined and r.random() < 0.05:
            q = f"SELECT * FROM {frm}{where}"
        return q, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sheaf")
    ap.add_argument("data")
    ap.add_argument("work")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--nps", default="1 2 3")
    ap.add_argument("--print", action="store_true")
    a = ap.parse_args()
    top = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
    mpirun = os.environ.get("MPIRUN", "mpirun")
    g = Gen(random.Random(a.seed))
    queries = [g.query()[0].replace("@/", a.data + "/") for _ in range(a.count)]
    if a.print:
        for q in queries:
            print(q + ";")
        return 0
    os.makedirs(os.path.join(a.work, "duck"), exist_ok=True)
    with open(os.path.join(a.work, "queries.tsv"), "w") as f:
        for i, q in enumerate(queries):
            f.write(f"q{i}\t{q}\n")
    env = dict(os.environ, SHEAF_ORACLE_DIR=os.path.join(top, "tests", "oracle"))
    subprocess.run(["node", os.path.join(top, "tests", "sql", "oracle.mjs"),
                    os.path.join(a.work, "queries.tsv"), os.path.join(a.work, "duck")],
                   check=True, env=env, timeout=600)
    nps = a.nps.split()
    failures = 0
    for i, q in enumerate(queries):
        np = nps[i % len(nps)]
        extra = ["--broadcast-limit", "0"] if " JOIN " in q and i % 2 else []
        cmd = [mpirun, "-np", np, "--oversubscribe", a.sheaf, "sql", "--format", "csv"] + extra + [q]
        why = None
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=60)
        except subprocess.TimeoutExpired:
            p, why = None, "hangs (over 60 s)"
        derr = os.path.join(a.work, "duck", f"q{i}.err")
        if p is None:
            pass
        elif os.path.exists(derr):
            if p.returncode not in (1, 2):
                why = f"DuckDB fails ({open(derr).read().strip()[:200]}) but sheaf exits {p.returncode}"
                if p.returncode == 0 and "Overflow" in open(derr).read():
                    why = None  # DuckDB evaluates a branch (or a literal's type) Sheaf does not
        elif p.returncode != 0:
            why = f"exit {p.returncode}: {p.stderr.strip()[:500]}"
            if p.returncode == 1 and "overflow" in p.stderr:
                why = None  # deliberate: integer overflow is an error where DuckDB widens
            if p.returncode == 1 and "out of range" in p.stderr and (
                    "FROM (" in q or " LIMIT 0" in q):
                why = None  # a value DuckDB never computes (a column no one reads, LIMIT 0)
        elif p.stderr.strip():
            why = f"stderr: {p.stderr.strip()[:500]}"
        else:
            got = rows_of(p.stdout)
            want = rows_of(open(os.path.join(a.work, "duck", f"q{i}.csv")).read())
            if not same_rows(got, want, ordered(q)):
                why = f"{len(got)} rows, DuckDB {len(want)}"
                for x, y in list(zip(got, want)):
                    if x != y:
                        why += f"\n    sheaf: {x}\n    duck:  {y}"
                        break
                else:
                    why += f"\n    sheaf: {got[len(want):][:2]} duck: {want[len(got):][:2]}"
        if why:
            failures += 1
            print(f"FAIL seed {a.seed} q{i} np={np} {' '.join(extra)}: {why}\n  {q}", flush=True)
    print(f"seed {a.seed}: {len(queries)} queries, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
