"""How the SQL tests compare an answer of `sheaf sql` with DuckDB's (tests/sql/run.py, fuzz.py):
  - the header is not compared (DuckDB and Sheaf name expressions differently), the rows are;
  - a query without ORDER BY (its own, not a subquery's): both answers sorted first; with ORDER BY, in order, so a query
    orders by enough keys to make the order total (the tie rule: rows equal on every ORDER BY
    key come in an unspecified order; Sheaf breaks ties by the output values);
  - cells that both read as numbers are equal within a relative 1e-9 (sums of doubles depend
    on the order of addition), except two integers with exact_ints (the jobs' sums of
    integers are exact); others must be equal as text."""
import csv
import io
import math
import re


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


INT = re.compile(r"-?[0-9]+")


def same_cell(a, b, exact_ints=False):
    if a == b:
        return True
    if exact_ints and INT.fullmatch(a) and INT.fullmatch(b):
        return False
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


def ordered(q):
    """Whether the query has an ORDER BY of its own (parenthesized parts removed)."""
    top = q
    while True:
        t2 = re.sub(r"\([^()]*\)", "", top)
        if t2 == top:
            break
        top = t2
    return re.search(r"\border\s+by\b", top, re.I) is not None


def same_rows(got, want, is_ordered, exact_ints=False):
    """Whether two answers (lists of rows of text cells) agree; sorts them when unordered."""
    if not is_ordered:
        got.sort(key=sort_key)
        want.sort(key=sort_key)
    return len(got) == len(want) and all(
        len(a) == len(b) and all(same_cell(x, y, exact_ints) for x, y in zip(a, b))
        for a, b in zip(got, want))
