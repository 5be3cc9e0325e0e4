// duckpq.mjs: DuckDB's side of `scripts/bench --suite parquet`, timed inside this process so
// that starting node is not counted.
//   node duckpq.mjs gen CSV ROWS SEED          a csv of ROWS rows (id, city, amount, day, flag, tag)
//   node duckpq.mjs copy CSV OUT CODEC THREADS COPY ... TO OUT (FORMAT parquet): prints seconds
//   node duckpq.mjs groupby PARQUET THREADS OUT  the groupby's query, rows to OUT (city<TAB>count,sum)
//   node duckpq.mjs check GLOB CSV            rows, and the sum of amount and ids, of both: 0 when equal
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(join(import.meta.dirname, '../tests/oracle/package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');
const [cmd, a, b, c, d] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowsJson();
const csv = (f) => `read_csv('${f}', header = true, columns = {'id': 'BIGINT', 'city': 'VARCHAR',
    'amount': 'DOUBLE', 'day': 'DATE', 'flag': 'BOOLEAN', 'tag': 'VARCHAR'})`;
const timed = async (sql) => {
    const t0 = performance.now();
    await con.run(sql);
    return ((performance.now() - t0) / 1000).toFixed(3);
};
if (cmd === 'gen') {
    await con.run(`SELECT setseed(${Number(c) % 1000 / 1000})`);
    await con.run(`COPY (SELECT i AS id, 'city' || (hash(i) % 500) AS city,
        round(random() * 10000, 2) AS amount, DATE '2020-01-01' + (i % 1500)::INT AS day,
        i % 3 = 0 AS flag, md5(i::VARCHAR) AS tag FROM range(${Number(b)}) r(i))
        TO '${a}' (HEADER)`);
} else if (cmd === 'copy') {
    await con.run(`SET threads = ${Number(d)}`);
    console.log(await timed(`COPY (SELECT * FROM ${csv(a)}) TO '${b}' (FORMAT parquet,
        COMPRESSION ${c})`));
} else if (cmd === 'groupby') {
    await con.run(`SET threads = ${Number(b)}`);
    const t0 = performance.now();
    const r = await rows(`SELECT city, count(*)::VARCHAR, sum(amount)::VARCHAR FROM
        read_parquet('${a}') GROUP BY city`);
    console.log(((performance.now() - t0) / 1000).toFixed(3));
    writeFileSync(c, r.map((x) => `${x[0]}\t${x[1]},${x[2]}`).join('\n') + '\n');
} else if (cmd === 'check') {
    const q = (src) => `SELECT count(*)::VARCHAR, sum(id)::VARCHAR, round(sum(amount), 2)::VARCHAR,
        count(DISTINCT tag)::VARCHAR, sum(flag::INT)::VARCHAR, max(day)::VARCHAR FROM ${src}`;
    const x = JSON.stringify(await rows(q(`read_parquet('${a}')`)));
    const y = JSON.stringify(await rows(q(csv(b))));
    if (x !== y) {
        console.log(`parquet ${x}\ncsv     ${y}`);
        process.exit(1);
    }
}
