#!/usr/bin/env bash
# oracle.sh: Sheaf's Parquet writer and reader against DuckDB and hyparquet-writer
# (tests/oracle/parquet.mjs, through tests/tools/pqtool), and the reader's errors on damaged
# files (truncated, a bad footer length, a wrong magic, an unknown column) and on what it does
# not read (nested columns, the lz4 and brotli codecs, encryption), naming file and column.
# SKIP (77) only when node is missing; without the oracle packages (scripts/check installs
# them) it is an error (99).
set -euo pipefail
: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
pqtool=$top_builddir/tests/tools/pqtool
oracle=$top_srcdir/tests/oracle
command -v node >/dev/null 2>&1 || { echo "SKIP: node is missing"; exit 77; }
[[ -d $oracle/node_modules/@duckdb/node-api && -d $oracle/node_modules/hyparquet-writer ]] ||
    { echo "error: no test oracles in tests/oracle (scripts/check installs them)" >&2; exit 99; }
work=$(mktemp -d "${TMPDIR:-/tmp}/sheaf-pq.XXXXXX")
trap 'rm -rf "$work"' EXIT
status=0
node "$oracle/parquet.mjs" "$pqtool" "$work" || status=1

# Damaged files: each fails with exit 1 and a message naming the file and what is wrong.
good=$work/w-snappy-777.parquet
size=$(stat -c %s "$good")
expect_error() { # FILE PATTERN WHAT [pqtool args...]
    local file=$1 pattern=$2 what=$3 rc=0 out
    shift 3
    out=$("$pqtool" dump "$@" "$file" 2>&1 >/dev/null) || rc=$?
    if [[ $rc -eq 1 && $out == *"$file"* && $out == *$pattern* ]]; then
        echo "ok - $what: $out"
    else
        echo "not ok - $what: exit $rc, '$out'"
        status=1
    fi
}
head -c $((size - 100)) "$good" >"$work/truncated.parquet"
expect_error "$work/truncated.parquet" "no PAR1 magic" "a truncated file"
head -c 3 "$good" >"$work/tiny.parquet"
expect_error "$work/tiny.parquet" "too short" "a 3-byte file"
cp "$good" "$work/badlen.parquet"
printf '\377\377\377\177' |
    dd of="$work/badlen.parquet" bs=1 seek=$((size - 8)) conv=notrunc status=none
expect_error "$work/badlen.parquet" "bad footer length" "a bad footer length"
cp "$good" "$work/badfoot.parquet"
flen=$(od -An -tu4 -j $((size - 8)) -N4 "$good" | tr -d ' ')
head -c $((flen / 2)) /dev/zero | tr '\0' '\377' |
    dd of="$work/badfoot.parquet" bs=1 seek=$((size - 8 - flen)) conv=notrunc status=none
expect_error "$work/badfoot.parquet" "bad footer" "a footer of garbage"
cp "$good" "$work/magic.parquet"
printf 'PAR2' | dd of="$work/magic.parquet" bs=1 seek=0 conv=notrunc status=none
expect_error "$work/magic.parquet" "no PAR1 magic at its start" "a wrong magic"
cp "$good" "$work/chunk.parquet"
head -c 2000 /dev/zero | dd of="$work/chunk.parquet" bs=1 seek=4 conv=notrunc status=none
expect_error "$work/chunk.parquet" "column 'id'" "a zeroed column chunk"
expect_error "$good" "no column 'nope'" "an unknown column" --columns nope
expect_error "$work/x-list.parquet" "column 'l' is nested" "a list column"
expect_error "$work/x-struct.parquet" "column 's' is nested" "a struct column"
expect_error "$work/x-lz4.parquet" "column 'a' uses the lz4_raw codec" "the lz4 codec"
expect_error "$work/x-brotli.parquet" "column 'a' uses the brotli codec" "the brotli codec"
expect_error "$work/x-encrypted.parquet" "encrypted Parquet files are not supported" "encryption"
exit "$status"
