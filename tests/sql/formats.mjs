// Writes the SQL tests' tables as Parquet with DuckDB (the oracle's own writer, so that Sheaf
// reads files it did not write):
//   SHEAF_ORACLE_DIR=tests/oracle node formats.mjs DATADIR
// DATADIR/pq/lineitem/part-N.parquet from DATADIR/lineitem/part-N.csv (row groups of 256
// rows, so that one file is several splits), DATADIR/pq/orders.parquet (zstd pages) and
// DATADIR/pq/words.parquet (gzip pages).
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
