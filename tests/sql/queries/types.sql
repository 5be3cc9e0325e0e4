-- Every column type a Parquet file gives a query as a value (tests/sql/formats.sh reads these
-- over types.parquet, whose columns are INTEGER, UINTEGER, UBIGINT, DECIMAL, FLOAT, BOOLEAN,
-- DATE and TIMESTAMP in three units; here over its csv). A FLOAT is read as the decimal it
-- prints as (0.1), DuckDB widens it (0.10000000149011612): its values are not compared.
SELECT id, i32, u32, u64, d9, d18, d38, b, dt, ts, tsms FROM '@/types.csv';
SELECT id, tsns FROM '@/types.csv' WHERE f IS NULL OR f > 1;
SELECT count(i32), sum(i32), min(u32), max(u64), sum(d9), avg(d18), max(d38), min(dt), max(ts), min(tsms), max(tsns), count(b), count(f) FROM '@/types.csv';
SELECT id FROM '@/types.csv' WHERE d9 > 1000.5 AND b AND dt >= DATE '2001-01-01' AND tsms < TIMESTAMP '2050-01-01 00:00:00';
SELECT b, count(*), sum(i32), sum(d18), min(tsns) FROM '@/types.csv' GROUP BY b;
SELECT id, i32 + u32, d9 * 2, d18 - d9, year(dt), month(ts), date_trunc('month', tsms) FROM '@/types.csv' WHERE u64 > 4611686018427387904;
