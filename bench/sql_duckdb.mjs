// The DuckDB side of the sql suite of scripts/bench: runs one query at a thread count and
// prints its best time, measured inside this process around the query alone, then its answer
// as csv.
//   SHEAF_ORACLE_DIR=tests/oracle node sql_duckdb.mjs THREADS REPEAT QUERYFILE OUT.csv
// Prints "seconds S cpu C": the fastest of REPEAT runs (each on a new connection to a fresh
// in-memory database, so no run reuses another's work) and the CPU seconds (user and system,
// all of DuckDB's threads) this process spent in that run.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(`${process.env.SHEAF_ORACLE_DIR}/package.json`);
const { DuckDBInstance } = require('@duckdb/node-api');

const [threads, repeat, qfile, outfile] = process.argv.slice(2);
const sql = readFileSync(qfile, 'utf8');
let best = Infinity;
let bestCpu = 0;
let rows = null;
let names = null;
for (let i = 0; i < Number(repeat); i++) {
  const inst = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  const con = await inst.connect();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = await con.runAndReadAll(sql);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  if (secs < best) {
    best = secs;
    bestCpu = (c.user + c.system) / 1e6;
  }
  rows = r.getRows();
  names = r.columnNames();
}
const cell = (v) => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
};
writeFileSync(outfile, [names.map(cell).join(','), ...rows.map((r) => r.map(cell).join(','))]
  .join('\n') + '\n');
console.log(`seconds ${best.toFixed(3)} cpu ${bestCpu.toFixed(2)}`);
