#!/usr/bin/env python3
"""Generates the tables of the SQL tests: small TPC-H-like `lineitem` and `orders` (with NULLs
in every column type, skewed keys, ties, quoted text with commas and quotes, negative
numbers), a `words` table from a word list, and an empty table (a header only).

    gen.py OUTDIR [ROWS] [WORDLIST]

lineitem is split over three files (lineitem/part-*.csv) so that FROM takes a glob. The
output depends only on ROWS (a fixed seed), so a failure can be replayed."""
import csv
import os
import random
import sys

out = sys.argv[1]
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
wordlist = sys.argv[3] if len(sys.argv) > 3 else "/usr/share/dict/words"
rng = random.Random(20)
os.makedirs(os.path.join(out, "lineitem"), exist_ok=True)

flags = ["A", "N", "R"]
status = ["F", "O"]
modes = ["AIR", "MAIL", "RAIL", "SHIP", "TRUCK", "FOB", "REG AIR"]
comments = ["quick, brown", 'say "hi"', "plain", "", "  padded  ", "naïve café", "x"]


def maybe(v, p=0.05):
    return "" if rng.random() < p else v


def date(y0=1992, y1=1998):
    y = rng.randint(y0, y1)
    m = rng.randint(1, 12)
    d = rng.randint(1, 28)
    return f"{y:04d}-{m:02d}-{d:02d}"


norders = max(rows // 4, 10)
with open(os.path.join(out, "orders.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["o_orderkey", "o_custkey", "o_orderstatus", "o_totalprice", "o_orderdate",
                "o_orderpriority", "o_urgent", "o_ts"])
    for k in range(1, norders + 1):
        w.writerow([k, maybe(str(int(rng.paretovariate(1.2)) % 500)), maybe(rng.choice(status)),
                    maybe(f"{rng.uniform(-100, 5000):.2f}"), maybe(date()),
                    maybe(rng.choice(["1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED"])),
                    maybe(rng.choice(["true", "false"])),
                    maybe(f"{date()} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
                          f"{rng.randint(0, 59):02d}")])

files = [open(os.path.join(out, "lineitem", f"part-{i}.csv"), "w", newline="") for i in range(3)]
writers = [csv.writer(f, lineterminator="\n") for f in files]
for w in writers:
    w.writerow(["l_orderkey", "l_linenumber", "l_quantity", "l_extendedprice", "l_discount",
                "l_tax", "l_returnflag", "l_linestatus", "l_shipdate", "l_shipmode",
                "l_comment"])
for i in range(rows):
    # skew: a third of the rows belong to order 1
    ok = 1 if rng.random() < 0.33 else rng.randint(1, norders)
    w = writers[i % 3]
    w.writerow([ok, i % 7 + 1, maybe(str(rng.randint(1, 50))),
                maybe(f"{rng.uniform(1, 10000):.2f}"), maybe(f"{rng.randint(0, 10) / 100:.2f}"),
                maybe(f"{rng.randint(0, 8) / 100:.2f}"), maybe(rng.choice(flags)),
                maybe(rng.choice(status)), maybe(date()), maybe(rng.choice(modes)),
                rng.choice(comments)])
for f in files:
    f.close()

with open(os.path.join(out, "empty.csv"), "w") as f:
    f.write("a,b,c\n")

# a table with extreme integers (overflow tests) and one row
with open(os.path.join(out, "big.csv"), "w") as f:
    f.write("id,v\n1,9223372036854775807\n2,1\n3,-9223372036854775808\n")

# words: ASCII words of the system word list (lower/upper differ on others), with their
# length and first letter
words = []
if os.path.exists(wordlist):
    with open(wordlist, encoding="utf-8", errors="replace") as f:
        for line in f:
            t = line.rstrip("\n")
            if t and t.isascii():
                words.append(t)
with open(os.path.join(out, "words.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["word", "len", "initial"])
    for t in words:
        w.writerow([t, len(t), t[0]])
