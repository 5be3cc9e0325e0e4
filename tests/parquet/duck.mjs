// duck.mjs: DuckDB compares a job's output with the rows of a query (tests/parquet/rows.sh).
//   node duck.mjs check GLOB QUERY       Parquet files GLOB hold exactly QUERY's rows and types
//   node duck.mjs check-csv FILE QUERY   headerless csv FILE holds QUERY's rows (as text)
//   node duck.mjs types QUERY            QUERY's columns as NAME:TYPE,... (Sheaf's type names)
//   node duck.mjs same QUERY1 QUERY2     the two queries give the same rows, compared as text
// Exit status 1 on a difference, which is printed.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(join(import.meta.dirname, '../oracle/package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');
const [cmd, src, query] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run("SET TimeZone = 'UTC'");
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowsJson();
let got;
if (cmd === 'types') { // QUERY's columns as NAME:TYPE,... in Sheaf's type names
    const names = { BIGINT: 'int64', INTEGER: 'int32', DOUBLE: 'double', BOOLEAN: 'bool',
        VARCHAR: 'string', DATE: 'date', 'TIMESTAMP WITH TIME ZONE': 'timestamp', TIMESTAMP: 'timestamp' };
    const d = await rows(`DESCRIBE ${src}`);
    console.log(d.map((r) => `${r[0]}:${names[r[1]] || r[1]}`).join(','));
    process.exit(0);
}
if (cmd === 'same') { // every column as VARCHAR, rows as a multiset
    const a = `SELECT COLUMNS(*)::VARCHAR FROM (${src})`, b = `SELECT COLUMNS(*)::VARCHAR FROM (${query})`;
    const extra = await rows(`SELECT count(*)::INT FROM ((${a}) EXCEPT ALL (${b}))`);
    const missing = await rows(`SELECT count(*)::INT FROM ((${b}) EXCEPT ALL (${a}))`);
    const n = await rows(`SELECT count(*)::INT FROM (${a})`);
    if (extra[0][0] || missing[0][0]) {
        console.log(`${extra[0][0]} rows not expected, ${missing[0][0]} rows missing (of ${n[0][0]})`);
        console.log(JSON.stringify(await rows(`SELECT * FROM ((${a}) EXCEPT ALL (${b})) LIMIT 3`)));
        console.log(JSON.stringify(await rows(`SELECT * FROM ((${b}) EXCEPT ALL (${a})) LIMIT 3`)));
        process.exit(1);
    }
    console.log(`${n[0][0]} rows equal`);
    process.exit(0);
}
if (cmd === 'check') {
    const t = await rows(`SELECT string_agg(column_name || ' ' || column_type, ', ') FROM
        (DESCRIBE SELECT * FROM read_parquet('${src}'))`);
    const w = await rows(`SELECT string_agg(column_name || ' ' || column_type, ', ') FROM
        (DESCRIBE ${query})`);
    if (t[0][0] !== w[0][0]) {
        console.log(`types: ${t[0][0]}\n  want: ${w[0][0]}`);
        process.exit(1);
    }
    got = `SELECT * FROM read_parquet('${src}')`;
} else {
    // the third column (half) compared as a double, printed by DuckDB both sides
    got = `SELECT column0, column1, column2::DOUBLE::VARCHAR, column3, column4, column5, column6
        FROM read_csv('${src}', header = false, all_varchar = true)`;
}
const cmp = cmd === 'check' ? query : `SELECT COLUMNS(*)::VARCHAR FROM (${query})`;
const fixed = cmd === 'check' ? cmp
    : `SELECT * REPLACE (strftime(ts, '%Y-%m-%d %H:%M:%S') || CASE WHEN microsecond(ts) % 1000000 = 0
        THEN '' ELSE '.' || lpad((microsecond(ts) % 1000000)::VARCHAR, 6, '0') END AS ts)
        FROM (${query})`;
const want = cmd === 'check' ? fixed : `SELECT COLUMNS(*)::VARCHAR FROM (${fixed})`;
const extra = await rows(`SELECT count(*)::INT FROM ((${got}) EXCEPT ALL (${want}))`);
const missing = await rows(`SELECT count(*)::INT FROM ((${want}) EXCEPT ALL (${got}))`);
const n = await rows(`SELECT count(*)::INT FROM (${got})`);
if (extra[0][0] || missing[0][0]) {
    console.log(`${extra[0][0]} rows not expected, ${missing[0][0]} rows missing (of ${n[0][0]})`);
    console.log(JSON.stringify(await rows(`SELECT * FROM ((${got}) EXCEPT ALL (${want})) LIMIT 3`)));
    console.log(JSON.stringify(await rows(`SELECT * FROM ((${want}) EXCEPT ALL (${got})) LIMIT 3`)));
    process.exit(1);
}
console.log(`${n[0][0]} rows equal`);
