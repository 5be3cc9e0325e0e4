// pqjobs.mjs: DuckDB (and hyparquet-writer) as the reference for jobs that read and write
// Parquet (tests/parquet/jobs.sh).
//
//   node pqjobs.mjs gen DIR              data.csv, and the same rows as Parquet written by DuckDB
//                                        (every codec, data pages v1 and v2, row groups of
//                                        2048 rows) and by hyparquet-writer
//   node pqjobs.mjs check-text OUT FILE  OUT (groupby's text output of --key city --agg
//                                        count,sum:amount,min:score,max:score,distinct:tag)
//                                        equals DuckDB's GROUP BY over FILE (csv or parquet)
//   node pqjobs.mjs check-parquet OUT FILE  the same for groupby's Parquet output, read by DuckDB
//   node pqjobs.mjs tsv GLOB             the rows of Parquet files as key TAB value lines
//   node pqjobs.mjs chunk FILE COLUMN    the offset and length of the column's first chunk
// Exit status 1 on a difference (the first few are printed).
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetWriteFile } from 'hyparquet-writer';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [cmd, a, b] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowsJson();
const source = (f) => f.endsWith('.csv')
    ? `read_csv('${f}', header = true, quote = '"', escape = '"', columns = {'city': 'VARCHAR',
       'year': 'BIGINT', 'amount': 'DOUBLE', 'score': 'DOUBLE', 'tag': 'VARCHAR'})`
    : `read_parquet('${f}')`;
async function reference(file) {
    const r = await rows(`SELECT coalesce(city, ''), count(*)::VARCHAR, sum(amount), min(score),
        max(score), count(DISTINCT tag) FILTER (WHERE tag <> '')::VARCHAR
        FROM ${source(file)} GROUP BY 1`);
    return new Map(r.map((x) => [x[0], x.slice(1)]));
}
function compare(got, want) {
    const bad = [];
    if (got.size !== want.size) bad.push(`${got.size} groups, DuckDB ${want.size}`);
    for (const [k, w] of want) {
        const g = got.get(k);
        if (!g) { bad.push(`group ${JSON.stringify(k)} missing`); continue; }
        const same = g[0] === w[0] && g[4] === w[4] &&
            [1, 2, 3].every((i) => (w[i] === null ? g[i] === null : Number(g[i]) === Number(w[i])));
        if (!same) bad.push(`group ${JSON.stringify(k)}: ${JSON.stringify(g)} vs DuckDB ${JSON.stringify(w)}`);
    }
    if (bad.length) {
        console.log(bad.slice(0, 5).join('\n'));
        process.exit(1);
    }
    console.log(`${want.size} groups equal`);
}
function unquote(k) {
    return k.startsWith('"') ? k.slice(1, -1).replace(/""/g, '"') : k;
}

if (cmd === 'gen') {
    await con.run(`CREATE TABLE t AS SELECT CASE WHEN i % 37 = 5 THEN 'a,b "q"' WHEN i % 37 = 6
        THEN '' ELSE 'c' || (i % 37) END AS city, 2000 + i % 5 AS year,
        (i * 7919 % 1000)::DOUBLE AS amount, CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 31 % 97)
        END::DOUBLE AS score, CASE WHEN i % 17 = 0 THEN NULL ELSE 't' || (i % 13) END AS tag
        FROM range(20000) r(i)`);
    await con.run(`COPY t TO '${join(a, 'data.csv')}' (HEADER)`);
    const codecs = [['snappy', 'V1'], ['zstd', 'V2'], ['gzip', 'V1'], ['uncompressed', 'V2']];
    for (const [c, v] of codecs)
        await con.run(`COPY t TO '${join(a, `data-${c}.parquet`)}' (FORMAT parquet,
            COMPRESSION ${c}, ROW_GROUP_SIZE 2048, PARQUET_VERSION ${v})`);
    const all = await rows('SELECT city, year, amount, score, tag FROM t');
    parquetWriteFile({ filename: join(a, 'data-hyparquet.parquet'), rowGroupSize: 3000,
        columnData: [
            { name: 'city', data: all.map((r) => r[0]), type: 'STRING' },
            { name: 'year', data: all.map((r) => Number(r[1])), type: 'INT32' },
            { name: 'amount', data: all.map((r) => r[2]), type: 'DOUBLE' },
            { name: 'score', data: all.map((r) => r[3]), type: 'DOUBLE' },
            { name: 'tag', data: all.map((r) => r[4]), type: 'STRING' },
        ] });
} else if (cmd === 'check-text') {
    const got = new Map();
    for (const f of readdirSync(a).filter((n) => n.startsWith('part-r-')).sort()) {
        for (const line of readFileSync(join(a, f), 'utf8').split('\n')) {
            if (!line) continue;
            const tab = line.lastIndexOf('\t');
            const v = line.slice(tab + 1).split(',');
            got.set(unquote(line.slice(0, tab)), [v[0], v[1] || null, v[2] || null, v[3] || null, v[4]]);
        }
    }
    compare(got, await reference(b));
} else if (cmd === 'check-parquet') {
    const desc = await rows(`DESCRIBE SELECT * FROM read_parquet('${a}/part-r-*.parquet')`);
    const names = desc.map((d) => `${d[0]}:${d[1]}`).join(' ');
    if (names !== 'city:VARCHAR count:BIGINT sum_amount:DOUBLE min_score:DOUBLE max_score:DOUBLE distinct_tag:BIGINT') {
        console.log(`columns: ${names}`);
        process.exit(1);
    }
    const r = await rows(`SELECT city, count::VARCHAR, sum_amount, min_score, max_score,
        distinct_tag::VARCHAR FROM read_parquet('${a}/part-r-*.parquet')`);
    compare(new Map(r.map((x) => [x[0], x.slice(1)])), await reference(b));
} else if (cmd === 'chunk') { // OFFSET LENGTH of column b's chunk in the first row group
    const r = await rows(`SELECT coalesce(dictionary_page_offset, data_page_offset)::VARCHAR,
        total_compressed_size::VARCHAR FROM parquet_metadata('${a}')
        WHERE row_group_id = 0 AND path_in_schema = '${b}'`);
    console.log(`${r[0][0]} ${r[0][1]}`);
} else if (cmd === 'tsv') {
    for (const r of await rows(`SELECT key, value::VARCHAR FROM read_parquet('${a}')`))
        console.log(`${r[0]}\t${r[1]}`);
} else {
    console.error('usage: pqjobs.mjs gen DIR | check-text OUT FILE | check-parquet OUT FILE | tsv GLOB');
    process.exit(2);
}
