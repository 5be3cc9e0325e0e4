-- Queries over the small tables of awkward values (nasty, nasty2: NULLs, int64 extremes,
-- negative zero, quoted commas and newlines, unicode), each reduced from a mismatch that the
-- random queries of tests/sql/fuzz.py found.
-- -0.0 and 0.0 are one key of GROUP BY, DISTINCT and a join (DuckDB compares them equal).
SELECT -d AS x, count(*) FROM '@/nasty.csv' WHERE d = 0 GROUP BY x;
SELECT DISTINCT d FROM '@/nasty.csv' WHERE d = 0;
SELECT l.id, r.id FROM '@/nasty.csv' l JOIN '@/nasty2.csv' r ON l.d = r.d WHERE l.d = 0;
SELECT l.id, r.id FROM '@/nasty.csv' l LEFT JOIN '@/nasty2.csv' r ON l.k = r.d WHERE l.k = 0;
