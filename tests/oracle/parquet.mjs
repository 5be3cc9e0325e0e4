// parquet.mjs: Sheaf's Parquet writer and reader against independent implementations.
//
//   node parquet.mjs PQTOOL WORKDIR
//
// 1. Writer: a seeded random table of every type (int64, int32, double, bool, strings with
//    commas, quotes, newlines and UTF-8, a low-cardinality string column for the dictionary,
//    dates, UTC timestamps; nulls in every optional column) is written as CSV, turned into
//    Parquet by `pqtool write` under every codec, one and many row groups, small pages,
//    dictionary and PLAIN (a tiny dictionary limit), a required-only schema and an empty file.
//    DuckDB reads each file back; every value must equal the table's, the column types must be
//    the declared ones, and the footer (codec, row groups, encodings, min/max statistics) must
//    say what was written.
// 2. Reader: DuckDB writes the table (every codec, nulls, many row groups, data pages v1 and v2,
//    plus DECIMAL, FLOAT, SMALLINT, UBIGINT and TIMESTAMP columns) and hyparquet-writer writes
//    it (data pages v2, PLAIN, dictionary, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY and
//    BYTE_STREAM_SPLIT encodings); `pqtool dump` of each file must equal DuckDB's reading of
//    the same file, value by value.
// Prints one TAP line per check; exits 1 when any failed.
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetWriteFile } from 'hyparquet-writer';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [pqtool, work] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run("SET TimeZone = 'UTC'");
let failures = 0, checks = 0;
function check(ok, what, detail) {
    checks++;
    if (ok) console.log(`ok - ${what}`);
    else {
        failures++;
        console.log(`not ok - ${what}${detail ? ': ' + detail : ''}`);
    }
}
async function rows(sql) {
    return (await con.runAndReadAll(sql)).getRowsJson();
}

// ---- the reference table ----
let seed = 12345n;
function rand() { // splitmix64 -> [0, 1)
    seed = (seed + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    let z = seed;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    return Number((z ^ (z >> 31n)) >> 11n) / 2 ** 53;
}
const pick = (a) => a[Math.floor(rand() * a.length)];
const cols = [
    { name: 'id', type: 'int64', nullable: false },
    { name: 'i64', type: 'int64', nullable: true },
    { name: 'i32', type: 'int32', nullable: true },
    { name: 'dbl', type: 'double', nullable: true },
    { name: 'flag', type: 'bool', nullable: true },
    { name: 'txt', type: 'string', nullable: true },
    { name: 'cat', type: 'string', nullable: true },
    { name: 'day', type: 'date', nullable: true },
    { name: 'ts', type: 'timestamp', nullable: true },
];
const words = ['alpha', 'beta', 'gamma, delta', 'say "hi"', 'line\nbreak', 'héllo wörld', '日本語',
    '', ' lead', 'trail ', 'x'.repeat(300)];
function gen(nrows) {
    const t = [];
    for (let r = 0; r < nrows; r++) {
        const nul = () => rand() < 0.12;
        const big = BigInt(Math.floor(rand() * 2 ** 52)) * (rand() < 0.5 ? -1n : 1n) *
            BigInt(1 + Math.floor(rand() * 2000));
        const i64 = r === 0 ? 9223372036854775807n : r === 1 ? -9223372036854775808n : big;
        const i32 = r === 0 ? 2147483647 : r === 1 ? -2147483648 : Math.floor((rand() - 0.5) * 2e6);
        const dbl = pick([() => (rand() - 0.5) * 1e6, () => rand() * 1e-300, () => 1e300 * rand(),
            () => Math.round(rand() * 100) / 4, () => 0.1 + rand()])();
        const days = Math.floor((rand() - 0.3) * 80000);
        const us = BigInt(Math.floor((rand() - 0.3) * 4e9)) * 1000000n +
            BigInt(rand() < 0.3 ? 0 : Math.floor(rand() * 1e6));
        t.push([BigInt(r), nul() ? null : i64, nul() ? null : i32, nul() ? null : dbl,
            nul() ? null : rand() < 0.5,
            nul() ? null : pick(words) + (rand() < 0.5 ? String(r) : ''),
            nul() ? null : pick(['red', 'green', 'blue', 'a,b', '']), nul() ? null : days,
            nul() ? null : us]);
    }
    return t;
}
function dateText(days) {
    return new Date(days * 86400000).toISOString().slice(0, 10);
}
function tsText(us) {
    const s = us / 1000000n - (us % 1000000n < 0n ? 1n : 0n);
    const f = us - s * 1000000n;
    const base = new Date(Number(s) * 1000).toISOString().slice(0, 19).replace('T', ' ');
    return f ? `${base}.${String(f).padStart(6, '0')}` : base;
}
function csvField(s) {
    return /[",\n\r]/.test(s) || s === '\\N' ? '"' + s.replace(/"/g, '""') + '"' : s;
}
function toCsv(table, cs) {
    let out = cs.map((c) => c.name).join(',') + '\n';
    for (const row of table) {
        out += row.map((v, k) => {
            if (v === null) return '\\N';
            const t = cs[k].type;
            if (t === 'date') return dateText(v);
            if (t === 'timestamp') return tsText(v);
            if (t === 'double') return String(v);
            return csvField(String(v));
        }).join(',') + '\n';
    }
    return out;
}
const NROWS = 5000;
const table = gen(NROWS);
const csvPath = join(work, 'ref.csv');
writeFileSync(csvPath, toCsv(table, cols));
const schemaArg = (cs) => cs.map((c) => `${c.name}:${c.type}${c.nullable ? '?' : ''}`).join(',');

// DuckDB's reading of a column as a comparable value.
function sel(c) {
    if (c.type === 'timestamp') return `epoch_us("${c.name}")::VARCHAR`;
    if (c.type === 'date') return `"${c.name}"::VARCHAR`;
    if (c.type === 'int64' || c.type === 'int32') return `"${c.name}"::VARCHAR`;
    return `"${c.name}"`;
}
function same(c, want, got) {
    if (want === null || got === null) return want === got;
    switch (c.type) {
    case 'int64': case 'int32': return String(want) === String(got);
    case 'double': return Number(got) === want;
    case 'bool': return got === want;
    case 'date': return got === dateText(want);
    case 'timestamp': return String(got) === String(want);
    default: return got === want;
    }
}
const duckType = { int64: 'BIGINT', int32: 'INTEGER', double: 'DOUBLE', bool: 'BOOLEAN',
    string: 'VARCHAR', date: 'DATE', timestamp: 'TIMESTAMP WITH TIME ZONE' };

async function verifyWritten(file, tbl, cs, what, expect) {
    try {
        await verifyWrittenOrThrow(file, tbl, cs, what, expect);
    } catch (e) {
        check(false, `${what}: DuckDB reads the file`, String(e.message || e));
    }
}
async function verifyWrittenOrThrow(file, tbl, cs, what, expect) {
    const desc = await rows(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
    check(desc.length === cs.length && desc.every((d, k) => d[0] === cs[k].name &&
        d[1] === duckType[cs[k].type] && (d[2] === 'YES') === true),
    `${what}: DuckDB sees the declared columns and types`,
    JSON.stringify(desc.map((d) => d.slice(0, 2))));
    const got = await rows(`SELECT ${cs.map(sel).join(', ')} FROM read_parquet('${file}')`);
    let bad = null;
    if (got.length !== tbl.length) bad = `${got.length} rows, not ${tbl.length}`;
    for (let r = 0; !bad && r < tbl.length; r++)
        for (let k = 0; k < cs.length; k++)
            if (!same(cs[k], tbl[r][k], got[r][k])) {
                bad = `row ${r} column ${cs[k].name}: want ${tbl[r][k]}, DuckDB read ${got[r][k]}`;
                break;
            }
    check(!bad, `${what}: DuckDB reads every value back`, bad);
    const meta = await rows(`SELECT row_group_id, path_in_schema, compression, encodings,
        stats_min_value, stats_max_value, stats_null_count FROM parquet_metadata('${file}')`);
    const groups = new Set(meta.map((m) => m[0])).size;
    check(groups === expect.groups, `${what}: ${expect.groups} row group(s)`, `found ${groups}`);
    if (meta.length) {
        check(meta.every((m) => m[2] === expect.codec), `${what}: codec ${expect.codec}`,
            [...new Set(meta.map((m) => m[2]))].join(' '));
        // a column of five values keeps its dictionary; one of thousands passes a small limit
        const catEnc = meta.filter((m) => m[1] === 'cat').map((m) => m[3]);
        const txtEnc = meta.filter((m) => m[1] === 'txt').map((m) => m[3]);
        if (catEnc.length)
            check(catEnc.every((e) => e.includes('RLE_DICTIONARY')) &&
                txtEnc.every((e) => e.includes('RLE_DICTIONARY') === expect.dict),
            `${what}: strings ${expect.dict ? 'dictionary' : 'PLAIN'}-encoded`,
            catEnc.join(' ') + ' / ' + txtEnc.join(' '));
        // statistics: each chunk's null count, min and max against the table's rows of that
        // row group (DuckDB filters by them)
        let sbad = null;
        const rg = expect.rowsPerGroup;
        for (const m of meta) {
            const k = cs.findIndex((c) => c.name === m[1]);
            const part = tbl.slice(Number(m[0]) * rg, (Number(m[0]) + 1) * rg).map((r) => r[k]);
            const nn = part.filter((v) => v !== null);
            if (String(m[6]) !== String(part.length - nn.length))
                sbad = `${m[1]} null count ${m[6]}`;
            if (cs[k].type === 'int64' && nn.length) {
                const mn = nn.reduce((a, b) => (b < a ? b : a));
                const mx = nn.reduce((a, b) => (b > a ? b : a));
                if (m[4] !== String(mn) || m[5] !== String(mx)) sbad = `${m[1]} min/max ${m[4]}/${m[5]}`;
            }
        }
        check(!sbad, `${what}: statistics match the data`, sbad);
        const lim = 1000n;
        const want = tbl.filter((r) => r[1] !== null && r[1] > lim).length;
        const c = await rows(`SELECT count(*)::VARCHAR FROM read_parquet('${file}') WHERE i64 > ${lim}`);
        if (cs[1] && cs[1].name === 'i64')
            check(c[0][0] === String(want), `${what}: a filtered count (statistics used) is right`,
                `${c[0][0]} vs ${want}`);
    }
}

function pq(args) {
    return execFileSync(pqtool, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
}

const codecs = [['none', 'UNCOMPRESSED'], ['snappy', 'SNAPPY'], ['gzip', 'GZIP'], ['zstd', 'ZSTD']];
for (const [codec, duckName] of codecs) {
    for (const rg of [100000, 777]) {
        const file = join(work, `w-${codec}-${rg}.parquet`);
        pq(['write', '--schema', schemaArg(cols), '--codec', codec, '--row-group', String(rg),
            csvPath, file]);
        await verifyWritten(file, table, cols, `writer ${codec}, row groups of ${rg}`,
            { groups: Math.ceil(NROWS / rg), codec: duckName, dict: true, rowsPerGroup: rg });
    }
}
{
    const file = join(work, 'w-plain.parquet');
    pq(['write', '--schema', schemaArg(cols), '--dict-limit', '64', '--page-size', '1000', '--row-group',
        '2000', csvPath, file]);
    await verifyWritten(file, table, cols, 'writer PLAIN strings, small pages',
        { groups: 3, codec: 'SNAPPY', dict: false, rowsPerGroup: 2000 });
    const req = cols.map((c) => ({ ...c, nullable: false }));
    const full = table.map((r) => r.map((v, k) => v ?? [0n, 7n, 7, 0.5, true, 's', 'c', 0, 0n][k]));
    const rcsv = join(work, 'req.csv'), rfile = join(work, 'w-required.parquet');
    writeFileSync(rcsv, toCsv(full, req));
    pq(['write', '--schema', schemaArg(req), '--codec', 'zstd', rcsv, rfile]);
    const d = await rows(`SELECT count(*) FILTER (WHERE "null" = 'YES')::INT FROM (DESCRIBE SELECT * FROM '${rfile}')`);
    const nullsMeta = await rows(`SELECT count(*)::INT FROM parquet_schema('${rfile}') WHERE repetition_type = 'REQUIRED'`);
    check(nullsMeta[0][0] === req.length, 'writer: required columns are REQUIRED in the schema', JSON.stringify(nullsMeta));
    void d;
    await verifyWritten(rfile, full, req, 'writer required columns',
        { groups: 1, codec: 'ZSTD', dict: true, rowsPerGroup: 1 << 30 });
    const ecsv = join(work, 'empty.csv'), efile = join(work, 'w-empty.parquet');
    writeFileSync(ecsv, cols.map((c) => c.name).join(',') + '\n');
    pq(['write', '--schema', schemaArg(cols), ecsv, efile]);
    await verifyWritten(efile, [], cols, 'writer empty file', { groups: 0, codec: 'SNAPPY', dict: true, rowsPerGroup: 1 });
}

// ---- the reader: files of other writers ----
function parseDump(text) { // pqtool's csv: \N null, RFC 4180 quotes
    const out = [];
    let row = [], f = '', i = 0, quoted = false, wasQuoted = false;
    while (i < text.length) {
        const ch = text[i];
        if (quoted) {
            if (ch === '"' && text[i + 1] === '"') { f += '"'; i += 2; continue; }
            if (ch === '"') { quoted = false; i++; continue; }
            f += ch; i++; continue;
        }
        if (ch === '"') { quoted = true; wasQuoted = true; i++; continue; }
        if (ch === ',' || ch === '\n') {
            row.push(!wasQuoted && f === '\\N' ? null : f);
            f = ''; wasQuoted = false;
            if (ch === '\n') { out.push(row); row = []; }
            i++; continue;
        }
        f += ch; i++;
    }
    return out;
}
function tsMicros(text) { // pqtool's timestamp text -> BigInt micros
    const m = /^(-?\d+)-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{6}))?$/.exec(text);
    if (!m) return 'bad:' + text;
    const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
    return String(BigInt(ms) * 1000n + BigInt(m[7] ? Number(m[7]) : 0));
}
async function compareDump(file, what) {
    try {
        await compareDumpOrThrow(file, what);
    } catch (e) {
        check(false, `${what}: DuckDB reads the file`, String(e.message || e));
    }
}
async function compareDumpOrThrow(file, what) {
    const desc = await rows(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
    const exprs = desc.map(([n, t]) => {
        if (t.startsWith('TIMESTAMP')) return `epoch_us("${n}")::VARCHAR`;
        if (t === 'DOUBLE' || t === 'FLOAT') return `"${n}"::DOUBLE`;
        if (t === 'BOOLEAN' || t === 'VARCHAR') return `"${n}"`;
        return `"${n}"::VARCHAR`;
    });
    const want = await rows(`SELECT ${exprs.join(', ')} FROM read_parquet('${file}')`);
    let dump;
    try {
        dump = parseDump(pq(['dump', file]));
    } catch (e) {
        check(false, `${what}: pqtool reads it`, String(e.stderr || e));
        return;
    }
    const header = dump.shift();
    let bad = header.join(',') === desc.map((d) => d[0]).join(',') ? null : `header ${header}`;
    if (!bad && dump.length !== want.length) bad = `${dump.length} rows, DuckDB ${want.length}`;
    for (let r = 0; !bad && r < want.length; r++)
        for (let k = 0; k < desc.length; k++) {
            const t = desc[k][1], w = want[r][k], g = dump[r][k];
            let ok;
            if (w === null || g === null) ok = w === g;
            else if (t.startsWith('TIMESTAMP')) ok = tsMicros(g) === w;
            else if (t === 'DOUBLE') ok = Number(g) === w || (Number.isNaN(w) && g === 'nan');
            else if (t === 'FLOAT') ok = Math.fround(Number(g)) === Math.fround(w);
            else if (t === 'BOOLEAN') ok = g === String(w);
            else ok = g === w;
            if (!ok) { bad = `row ${r} column ${desc[k][0]} (${t}): DuckDB ${w}, pqtool ${g}`; break; }
        }
    check(!bad, `${what}: pqtool dump equals DuckDB's reading`, bad);
}

await con.run(`CREATE TABLE t AS SELECT *, ((i32 % 1000000) / 7)::DECIMAL(9,2) AS dec9,
    (i64 // 100000)::DECIMAL(18,3) AS dec18, (i64::HUGEINT * 1000 + id)::DECIMAL(38,10) AS dec38, (i32 / 3)::FLOAT AS flt,
    (i32 % 30000)::SMALLINT AS small, (abs(i64::HUGEINT) * 2 - 1)::UBIGINT AS ubig, ts::TIMESTAMP AS tsn
    FROM read_csv('${csvPath}', header = true, nullstr = '\\N', quote = '"', escape = '"',
    columns = {'id': 'BIGINT', 'i64': 'BIGINT', 'i32': 'INTEGER', 'dbl': 'DOUBLE', 'flag': 'BOOLEAN',
    'txt': 'VARCHAR', 'cat': 'VARCHAR', 'day': 'DATE', 'ts': 'TIMESTAMPTZ'})`);
const n = await rows('SELECT count(*)::INT FROM t');
check(n[0][0] === NROWS, 'DuckDB loads the reference csv', JSON.stringify(n));
for (const [, duckName] of codecs)
    for (const v of ['V1', 'V2']) {
        const file = join(work, `d-${duckName}-${v}.parquet`);
        await con.run(`COPY t TO '${file}' (FORMAT parquet, COMPRESSION ${duckName}, ROW_GROUP_SIZE 1000, PARQUET_VERSION ${v})`);
        const g = await rows(`SELECT count(DISTINCT row_group_id)::INT, string_agg(DISTINCT encodings, ' ') FROM parquet_metadata('${file}')`);
        console.log(`# DuckDB ${duckName} ${v}: ${g[0][0]} row groups, encodings ${g[0][1]}`);
        await compareDump(file, `DuckDB ${duckName} ${v} (${g[0][0]} row groups)`);
    }
{
    const file = join(work, 'd-nulls.parquet');
    await con.run(`COPY (SELECT NULL::BIGINT AS a, NULL::VARCHAR AS b FROM range(3000) UNION ALL
        SELECT 1, 'x') TO '${file}' (FORMAT parquet, ROW_GROUP_SIZE 2048)`);
    await compareDump(file, 'DuckDB all-null columns');
}
// hyparquet-writer: an independent JavaScript writer
const hcols = (enc) => [
    { name: 'id', data: table.map((r) => r[0]), type: 'INT64', nullable: false, encoding: enc.int },
    { name: 'i32', data: table.map((r) => r[2]), type: 'INT32', encoding: enc.int },
    { name: 'dbl', data: table.map((r) => r[3]), type: 'DOUBLE', encoding: enc.dbl },
    { name: 'flag', data: table.map((r) => r[4]), type: 'BOOLEAN' },
    { name: 'txt', data: table.map((r) => r[5]), type: 'STRING', encoding: enc.str },
    { name: 'cat', data: table.map((r) => r[6]), type: 'STRING' },
    { name: 'when', data: table.map((r) => (r[8] === null ? null : new Date(Number(r[8] / 1000n)))), type: 'TIMESTAMP' },
];
for (const [what, enc, opts] of [
    ['hyparquet-writer defaults', {}, {}],
    ['hyparquet-writer delta and byte-stream-split', { int: 'DELTA_BINARY_PACKED', dbl: 'BYTE_STREAM_SPLIT', str: 'DELTA_LENGTH_BYTE_ARRAY' }, { rowGroupSize: 1500 }],
    ['hyparquet-writer PLAIN, uncompressed', { int: 'PLAIN', dbl: 'PLAIN', str: 'PLAIN' }, { codec: 'UNCOMPRESSED', rowGroupSize: 999 }],
]) {
    const file = join(work, `h-${checks}.parquet`);
    parquetWriteFile({ filename: file, columnData: hcols(enc), ...opts });
    await compareDump(file, what);
}
// files the reader refuses (checked by oracle.sh): nested columns, other codecs, encryption
await con.run(`COPY (SELECT 1 AS a, [1, 2] AS l) TO '${join(work, 'x-list.parquet')}' (FORMAT parquet)`);
await con.run(`COPY (SELECT 1 AS a, {'x': 1} AS s) TO '${join(work, 'x-struct.parquet')}' (FORMAT parquet)`);
for (const c of ['lz4', 'brotli'])
    await con.run(`COPY (SELECT 1 AS a) TO '${join(work, `x-${c}.parquet`)}' (FORMAT parquet,
        COMPRESSION ${c})`);
await con.run("SET force_mbedtls_unsafe = 'true'"); // a test file: its secrecy does not matter
await con.run("PRAGMA add_parquet_key('k', '0123456789112345')");
await con.run(`COPY (SELECT 1 AS a) TO '${join(work, 'x-encrypted.parquet')}' (FORMAT parquet,
    ENCRYPTION_CONFIG {footer_key: 'k'})`);
console.log(`# ${checks} checks, ${failures} failed`);
process.exit(failures ? 1 : 0);
