-- Queries over the small tables of awkward values (nasty, nasty2: NULLs, int64 extremes,
-- negative zero, quoted commas and newlines, unicode), each reduced from a mismatch that the
-- random queries of tests/sql/fuzz.py found.
-- -0.0 and 0.0 are one key of GROUP BY, DISTINCT and a join (DuckDB compares them equal).
SELECT -d AS x, count(*) FROM '@/nasty.csv' WHERE d = 0 GROUP BY x;
SELECT DISTINCT d FROM '@/nasty.csv' WHERE d = 0;
SELECT l.id, r.id FROM '@/nasty.csv' l JOIN '@/nasty2.csv' r ON l.d = r.d WHERE l.d = 0;
SELECT l.id, r.id FROM '@/nasty.csv' l LEFT JOIN '@/nasty2.csv' r ON l.k = r.d WHERE l.k = 0;
-- A double as text (CAST, ||, concat) is DuckDB's text of it: 3.0, 1e+300, 1e-05, -0.0.
SELECT id, d, CAST(d AS VARCHAR), 'x' || d, concat(d * 1e15, '|', d / 1e5, '|', d * 1e16) FROM '@/nasty.csv';
SELECT l_orderkey, l_linenumber, 'a' || l_extendedprice / 7, concat(l_discount + l_tax, '|', CAST(l_quantity AS DOUBLE)) FROM '@/lineitem/*.csv' WHERE l_linenumber = 2;
-- On doubles, x // 0 is NULL and x % 0 is NaN, as DuckDB gives them.
SELECT id, d, big, d // big, d % big, big // d, big % d, d // 0.0, d % 0 FROM '@/nasty.csv' WHERE big = 0 OR d = 0;
-- A DOUBLE cast to BIGINT rounds half to even (DuckDB's cast of a DOUBLE); a literal with a
-- point, DuckDB's DECIMAL, half away from zero; 2.5e0 is a DOUBLE.
SELECT id, CAST(CAST(id AS DOUBLE) / 2 AS BIGINT), CAST(-CAST(id AS DOUBLE) / 2 AS BIGINT), CAST(2.5 AS BIGINT), CAST(-2.5 AS BIGINT), CAST(0.5 AS BIGINT), CAST(2.5e0 AS BIGINT), CAST(-3.5e0 AS BIGINT) FROM '@/nasty.csv';
SELECT id, d, CAST(d AS BIGINT) FROM '@/nasty.csv' WHERE abs(d) < 1e18;
