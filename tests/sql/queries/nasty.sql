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
-- Constant parts are evaluated once (sql_bind's folding); one that fails is left to the rows,
-- and a branch no row reaches never fails.
SELECT id, DATE '1994-01-01' + 1, TIMESTAMP '2001-02-03 04:05:06', 1 - 0.05, -(2 * 3), CASE WHEN id > 1000 THEN CAST('x' AS BIGINT) ELSE 1 END, CASE WHEN id < 0 THEN 9223372036854775807 + 1 ELSE id END, dt + 1 > DATE '1994-01-01' + 1, d * (1 - 0.05), big // (2 + 3), coalesce(NULL, 7 * 6), year(DATE '2001-02-03') + id FROM '@/nasty.csv' WHERE DATE '1994-01-01' + 1 > DATE '1994-01-01' AND 1 + 1 = 2;
SELECT CAST(k AS DOUBLE) * 0.5 + 2 AS g, count(*), sum(id * (3 - 2)) FROM '@/nasty.csv' WHERE 1 = 1 GROUP BY g HAVING count(*) > 0 + 0;
-- Text cast to BIGINT takes a decimal or an exponent, rounded half away from zero, as DuckDB's cast does.
SELECT id, d, CAST(CAST(d AS VARCHAR) AS BIGINT), CAST('2.5' AS BIGINT), CAST(' -0.5 ' AS BIGINT), CAST('1.5E+1' AS BIGINT), CAST('.5' AS BIGINT), CAST('-9223372036854775808.4' AS BIGINT) FROM '@/nasty.csv' WHERE abs(d) < 1e15;
