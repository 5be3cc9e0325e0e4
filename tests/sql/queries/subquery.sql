-- Subqueries in FROM: aggregates of aggregates, filters on aggregates, nesting, a join inside.
SELECT n, count(*) FROM (SELECT l_orderkey, count(*) AS n FROM '@/lineitem/*.csv' GROUP BY l_orderkey) t GROUP BY n;
SELECT avg(total), max(total), min(total) FROM (SELECT l_orderkey, sum(l_quantity) AS total FROM '@/lineitem/*.csv' GROUP BY l_orderkey);
SELECT m, c, count(*) FROM (SELECT l_shipmode AS m, l_comment AS c FROM '@/lineitem/*.csv' WHERE l_quantity < 3) GROUP BY m, c;
SELECT * FROM (SELECT o_orderkey, o_totalprice FROM '@/orders.csv' ORDER BY o_totalprice DESC, o_orderkey LIMIT 10) t WHERE o_totalprice > 4900;
SELECT s.o_orderstatus, s.n FROM (SELECT o_orderstatus, count(*) AS n FROM '@/orders.csv' GROUP BY o_orderstatus) s ORDER BY s.n DESC;
SELECT k, v FROM (SELECT o_orderkey AS k, o_orderdate AS v, o_ts AS w, o_urgent AS u FROM '@/orders.csv') WHERE u AND w > TIMESTAMP '1997-01-01 00:00:00' AND v < DATE '1995-01-01';
SELECT cnt, count(*) FROM (SELECT n AS cnt FROM (SELECT o_custkey, count(*) AS n FROM '@/orders.csv' GROUP BY o_custkey) a) b GROUP BY cnt ORDER BY cnt;
SELECT flag, sum(q) FROM (SELECT l_returnflag AS flag, l_quantity AS q, o_orderstatus FROM '@/lineitem/*.csv' l JOIN '@/orders.csv' o ON l_orderkey = o_orderkey WHERE o_orderstatus = 'F') GROUP BY flag;
SELECT count(*), sum(x) FROM (SELECT a AS x FROM '@/empty.csv');
SELECT s, length(s) FROM (SELECT DISTINCT l_comment AS s FROM '@/lineitem/*.csv') ORDER BY s NULLS FIRST;
