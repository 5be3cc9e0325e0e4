// Writes the SQL tests' tables as Parquet with DuckDB (the oracle's own writer, so that Sheaf
// reads files it did not write):
//   SHEAF_ORACLE_DIR=tests/oracle node formats.mjs DATADIR
// DATADIR/pq/lineitem/part-N.parquet from DATADIR/lineitem/part-N.csv (row groups of 256
// rows, so that one file is several splits), DATADIR/pq/orders.parquet (zstd pages) and
// DATADIR/pq/words.parquet (gzip pages), and DATADIR/pq/types.parquet from types.csv in the
// types its column names say (gen.py).
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(`${process.env.SHEAF_ORACLE_DIR}/package.json`);
const { DuckDBInstance } = require('@duckdb/node-api');

const [data] = process.argv.slice(2);
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
mkdirSync(`${data}/pq/lineitem`, { recursive: true });
const copy = (src, dst, opts) =>
  con.run(`COPY (SELECT * FROM read_csv('${src}', header = true)) TO '${dst}' ` +
          `(FORMAT parquet, ${opts})`);
for (const f of readdirSync(`${data}/lineitem`).filter((n) => n.endsWith('.csv')))
  await copy(`${data}/lineitem/${f}`, `${data}/pq/lineitem/${f.replace(/csv$/, 'parquet')}`,
             'ROW_GROUP_SIZE 256, COMPRESSION snappy');
await copy(`${data}/orders.csv`, `${data}/pq/orders.parquet`, 'COMPRESSION zstd');
await copy(`${data}/words.csv`, `${data}/pq/words.parquet`, 'COMPRESSION gzip');
// types.parquet: each column in the type its name says (gen.py), in row groups of 128 rows
await con.run(`COPY (SELECT * FROM read_csv('${data}/types.csv', header = true, columns = {
  'id': 'BIGINT', 'i32': 'INTEGER', 'u32': 'UINTEGER', 'u64': 'UBIGINT', 'd9': 'DECIMAL(9,2)',
  'd18': 'DECIMAL(18,3)', 'd38': 'DECIMAL(38,10)', 'f': 'FLOAT', 'b': 'BOOLEAN', 'dt': 'DATE',
  'ts': 'TIMESTAMP', 'tsms': 'TIMESTAMP_MS', 'tsns': 'TIMESTAMP_NS'}))
  TO '${data}/pq/types.parquet' (FORMAT parquet, ROW_GROUP_SIZE 128)`);
