#!/usr/bin/env python3
"""Writes TPC-H-like lineitem and orders tables as csv with a header, for the sql suite of
scripts/bench:

    genlineitem.py OUTDIR ROWS SEED

OUTDIR/lineitem.csv has ROWS rows with TPC-H's lineitem columns and value ranges (quantity
1-50, extended price, discount 0.00-0.10, tax 0.00-0.08, return flag and line status as
dbgen derives them from the ship and receipt dates, ship dates 1992-01-02 to 1998-12-01, ship
mode and instruction, a comment); OUTDIR/orders.csv has one row per order (ROWS / 4 orders,
each line's order drawn uniformly) with o_orderkey, o_custkey, o_orderstatus, o_totalprice,
o_orderdate and o_orderpriority. The same ROWS and SEED always give the same files."""
import datetime
import os
import random
import sys

out, rows, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
norders = max(rows // 4, 1)
modes = ["AIR", "MAIL", "RAIL", "SHIP", "TRUCK", "FOB", "REG AIR"]
instr = ["DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN"]
words = ["carefully", "final", "deposits", "furiously", "ironic", "packages", "slyly",
         "regular", "accounts", "blithely", "quickly", "pending", "requests", "bold"]
prios = ["1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"]
epoch = datetime.date(1992, 1, 2)
current = datetime.date(1995, 6, 17)  # dbgen's CURRENTDATE: flags and statuses follow it
span = (datetime.date(1998, 12, 1) - epoch).days
days = [(epoch + datetime.timedelta(d)).isoformat() for d in range(span + 200)]
cur = (current - epoch).days

os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "lineitem.csv.tmp"), "w") as f:
    f.write("l_orderkey,l_partkey,l_suppkey,l_linenumber,l_quantity,l_extendedprice,"
            "l_discount,l_tax,l_returnflag,l_linestatus,l_shipdate,l_commitdate,"
            "l_receiptdate,l_shipinstruct,l_shipmode,l_comment\n")
    buf = []
    r = rng.random
    ri = rng.randrange
    for i in range(rows):
        ok = ri(norders) + 1
        part = ri(200000) + 1
        q = ri(50) + 1
        price = q * (90000 + part % 20001 + 100 * (part % 1000)) / 100
        ship = ri(span - 151)
        receipt = ship + ri(30) + 1
        flag = ("R" if r() < 0.5 else "A") if receipt <= cur else "N"
        status = "O" if ship > cur else "F"
        buf.append(f"{ok},{part},{ri(10000) + 1},{i % 7 + 1},{q},{price:.2f},"
                   f"0.{ri(11):02d},0.0{ri(9)},{flag},{status},{days[ship]},"
                   f"{days[ship + ri(60)]},{days[receipt]},{instr[ri(4)]},{modes[ri(7)]},"
                   f"{words[ri(14)]} {words[ri(14)]} {words[ri(14)]}\n")
        if len(buf) == 10000:
            f.write("".join(buf))
            buf = []
    f.write("".join(buf))
os.rename(os.path.join(out, "lineitem.csv.tmp"), os.path.join(out, "lineitem.csv"))
with open(os.path.join(out, "orders.csv.tmp"), "w") as f:
    f.write("o_orderkey,o_custkey,o_orderstatus,o_totalprice,o_orderdate,o_orderpriority\n")
    for k in range(1, norders + 1):
        f.write(f"{k},{rng.randrange(150000) + 1},{'FOP'[rng.randrange(3)]},"
                f"{rng.uniform(1000, 500000):.2f},{days[rng.randrange(span - 151)]},"
                f"{prios[rng.randrange(5)]}\n")
os.rename(os.path.join(out, "orders.csv.tmp"), os.path.join(out, "orders.csv"))
