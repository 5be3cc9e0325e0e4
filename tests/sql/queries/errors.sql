-- Queries DuckDB rejects: Sheaf must fail too (exit 1 or 2).
SELECT nosuch FROM '@/orders.csv';
SELECT o_orderkey FROM '@/orders.csv' WHERE o_orderstatus = 5;
SELECT sum(o_orderstatus) FROM '@/orders.csv';
SELECT o_orderkey, count(*) FROM '@/orders.csv';
SELECT v + 1 FROM '@/big.csv';
SELECT v * 2 FROM '@/big.csv' WHERE id = 1;
SELECT -v FROM '@/big.csv' WHERE id = 3;

SELECT CAST(o_orderpriority AS BIGINT) FROM '@/orders.csv';
SELECT o_orderkey FROM '@/orders.csv' WHERE count(*) > 1;
SELECT nosuchfunc(o_orderkey) FROM '@/orders.csv';
SELECT o_orderkey FROM '@/orders.csv' ORDER BY 5;
