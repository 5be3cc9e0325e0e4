#!/usr/bin/env python3
"""Generates the tables of the SQL tests: small TPC-H-like `lineitem` and `orders` (with NULLs
in every column type, skewed keys, ties, quoted text with commas and quotes, negative
numbers), a `words` table from a word list, an empty table (a header only), and two small
nasty tables (`nasty`, `nasty2`: NULLs, int64 extremes, negative zero, quoted commas, quotes
and newlines, unicode, a key shared by both).

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

# types: a column of each type a Parquet file can give a query as a value rather than text
# (tests/sql/formats.mjs writes it as Parquet with the types of its header's names: INTEGER,
# UINTEGER, UBIGINT, DECIMAL(9,2), DECIMAL(18,3), DECIMAL(38,10), FLOAT, BOOLEAN, DATE and
# TIMESTAMP in micro-, milli- and nanoseconds), NULLs in each
trng = random.Random(7)


def tmaybe(v):
    return "" if trng.random() < 0.08 else v


with open(os.path.join(out, "types.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "i32", "u32", "u64", "d9", "d18", "d38", "f", "b", "dt", "ts", "tsms",
                "tsns"])
    for i in range(max(rows // 3, 10)):
        us = trng.randint(-2 * 10**15, 4 * 10**15)
        ms = us // 1000 * 1000
        t = ["%04d-%02d-%02d %02d:%02d:%02d" % (1970 + s // 31104000, s // 2592000 % 12 + 1,
                                                  s // 86400 % 28 + 1, s // 3600 % 24,
                                                  s // 60 % 60, s % 60)
             for s in (abs(us) // 10**6 % (60 * 31104000),)][0]
        w.writerow([i, tmaybe(trng.randint(-2**31, 2**31 - 1)),
                    tmaybe(trng.randint(0, 2**32 - 1)), tmaybe(trng.randint(0, 2**63 - 1)),
                    tmaybe("%.2f" % (trng.randint(-10**9 + 1, 10**9 - 1) / 100)),
                    tmaybe("%.3f" % (trng.randint(-10**15, 10**15) / 1000)),
                    tmaybe("%d.%010d" % (trng.randint(-10**12, 10**12), trng.randint(0, 10**10 - 1))),
                    tmaybe(trng.choice(["0.1", "1.5", "-3.25", "1e10", "0"])),
                    tmaybe(trng.choice(["true", "false"])),
                    tmaybe(date(1900, 2100)), tmaybe(t + ".%06d" % (us % 10**6)),
                    tmaybe(t + ".%03d" % (ms // 1000 % 1000)), tmaybe(t + ".%06d" % (us % 10**6))])

# nasty, nasty2: small tables of awkward values for the random queries of tests/sql/fuzz.py;
# k is a join key of both (NULLs and duplicates), big holds int64's extremes (never summed:
# the total would be out of range, an error by design), s quoted text of every kind
nrng = random.Random(11)
texts = ["a,b", 'say "hi"', "line\nbreak", "naïve café", "日本語", "  pad  ", "A", "a", "%_x",
         "abc", "ABC", "Zebra", "1", "é", "x y"]
doubles = ["-0.0", "0.0", "0.5", "1.5", "2.5", "-2.5", "-0.5", "1e300", "-1e-300", "123.456",
           "3", "-7.25"]
bigs = ["9223372036854775807", "-9223372036854775808", "0", "-1", "1", "4611686018427387904",
        "-4611686018427387905", "123", "-77"]


def nmaybe(v, p=0.12):
    return "" if nrng.random() < p else v


for name, n in (("nasty", 60), ("nasty2", 25)):
    with open(os.path.join(out, name + ".csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "k", "big", "d", "s", "dt", "ts", "b"])
        for i in range(1, n + 1):
            w.writerow([i, nmaybe(str(nrng.randint(-3, 6))), nmaybe(nrng.choice(bigs)),
                        nmaybe(nrng.choice(doubles)), nmaybe(nrng.choice(texts)),
                        nmaybe(date(1969, 2001)),
                        nmaybe(f"{date(1969, 2001)} {nrng.choice(['00:00:00', '23:59:59', '12:30:00.5', '06:07:08.123456'])}"),
                        nmaybe(nrng.choice(["true", "false"]))])
