-- Inner and left equi-joins (one or two key columns; NULL keys; a key with a third of the
-- rows), with filters, groups and orders over the joined rows.
SELECT o.o_orderkey, l.l_linenumber, o.o_orderstatus, l.l_quantity FROM '@/orders.csv' o JOIN '@/lineitem/*.csv' l ON o.o_orderkey = l.l_orderkey;
SELECT o_orderkey, l_linenumber FROM '@/orders.csv' o INNER JOIN '@/lineitem/*.csv' l ON l.l_orderkey = o.o_orderkey WHERE l_quantity > 40 AND o_totalprice < 1000;
SELECT o_orderkey, l_linenumber, l_quantity FROM '@/orders.csv' o LEFT JOIN '@/lineitem/*.csv' l ON o.o_orderkey = l.l_orderkey;
SELECT o_orderkey, count(l_linenumber), sum(l_quantity) FROM '@/orders.csv' o LEFT JOIN '@/lineitem/*.csv' l ON o.o_orderkey = l.l_orderkey GROUP BY o_orderkey;
SELECT o_orderkey FROM '@/orders.csv' o LEFT OUTER JOIN '@/lineitem/*.csv' l ON o.o_orderkey = l.l_orderkey WHERE l.l_orderkey IS NULL;
SELECT o_orderstatus, l_returnflag, count(*), sum(l_extendedprice * (1 - l_discount)) FROM '@/orders.csv' o JOIN '@/lineitem/*.csv' l ON o_orderkey = l_orderkey GROUP BY o_orderstatus, l_returnflag;
SELECT o_orderpriority, count(*) AS n FROM '@/orders.csv' o JOIN '@/lineitem/*.csv' l ON o_orderkey = l_orderkey WHERE l_shipdate > o_orderdate GROUP BY o_orderpriority ORDER BY o_orderpriority NULLS FIRST;
SELECT l.l_orderkey, l.l_linenumber, o.o_custkey FROM '@/lineitem/*.csv' l LEFT JOIN '@/orders.csv' o ON l.l_orderkey = o.o_custkey AND l.l_linenumber = o.o_orderkey;
SELECT a.o_orderkey, b.o_orderkey FROM '@/orders.csv' a JOIN '@/orders.csv' b ON a.o_custkey = b.o_custkey AND a.o_orderstatus = b.o_orderstatus WHERE a.o_orderkey < b.o_orderkey AND a.o_custkey < 20;
SELECT a.o_custkey, count(*) FROM '@/orders.csv' a JOIN '@/orders.csv' b ON a.o_custkey = b.o_custkey GROUP BY a.o_custkey ORDER BY 2 DESC, 1 LIMIT 5;
SELECT o_orderkey, l_linenumber FROM '@/orders.csv' o JOIN '@/lineitem/*.csv' l ON o_orderkey = l_orderkey AND o_orderdate < l_shipdate ORDER BY o_orderkey, l_linenumber LIMIT 20;
SELECT w.word, o.o_orderkey FROM '@/words.csv' w JOIN '@/orders.csv' o ON w.len = o.o_orderkey WHERE w.initial = 'q' AND o.o_orderkey < 5;
SELECT o_orderkey, l_comment FROM '@/orders.csv' o JOIN '@/lineitem/*.csv' l ON o_orderkey = l_orderkey WHERE l_comment = '' OR l_comment LIKE '%"%';
SELECT count(*), count(l_orderkey) FROM '@/orders.csv' o LEFT JOIN '@/lineitem/*.csv' l ON o_orderkey = l_orderkey;
SELECT o_orderkey, o_totalprice, l_extendedprice FROM '@/orders.csv' o JOIN '@/lineitem/*.csv' l ON o_totalprice = l_extendedprice;
SELECT o_orderkey, a FROM '@/orders.csv' o LEFT JOIN '@/empty.csv' e ON o.o_orderkey = CAST(e.a AS BIGINT) WHERE o_orderkey < 5;
SELECT e.a, o.o_orderkey FROM '@/empty.csv' e JOIN '@/orders.csv' o ON CAST(e.a AS BIGINT) = o.o_orderkey;
