// Runs each query of the SQL corpus in DuckDB (the oracle) and writes its answer as CSV:
//   SHEAF_ORACLE_DIR=tests/oracle node oracle.mjs QUERIES.tsv OUTDIR
// QUERIES.tsv holds one query per line as `ID<TAB>SQL`; OUTDIR/ID.csv gets a header line and
// one line per row (NULL as an empty field, everything else as DuckDB's text of the value,
// non-finite doubles as inf, -inf, nan), or OUTDIR/ID.err the error message.
// approx_quantile is DuckDB's t-digest estimate; Sheaf computes it exactly as a discrete
// quantile, so the oracle is asked for quantile_disc instead.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// the package is installed in tests/oracle/node_modules (scripts/check)
const require = createRequire(`${process.env.SHEAF_ORACLE_DIR}/package.json`);
const { DuckDBInstance } = require('@duckdb/node-api');

const [qfile, outdir] = process.argv.slice(2);
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();

function cell(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v < 0 ? '-inf' : 'inf';
    return String(v);
  }
  const s = String(v);
  if (/[",\n\r]/.test(s) || s === '') return '"' + s.replace(/"/g, '""') + '"';
  return s;
}

for (const line of readFileSync(qfile, 'utf8').split('\n')) {
  if (!line) continue;
  const tab = line.indexOf('\t');
  const id = line.slice(0, tab);
  const sql = line.slice(tab + 1).replace(/approx_quantile\(/gi, 'quantile_disc(');
  try {
    const r = await con.runAndReadAll(sql);
    const out = [r.columnNames().map(cell).join(',')];
    for (const row of r.getRows()) out.push(row.map(cell).join(','));
    writeFileSync(`${outdir}/${id}.csv`, out.join('\n') + '\n');
  } catch (e) {
    writeFileSync(`${outdir}/${id}.err`, String(e.message) + '\n');
  }
}
