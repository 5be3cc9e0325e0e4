/*
 * parquet.h: Sheaf's Parquet writer and reader, and the pieces they share. Private to the
 * runtime; the public face is the output schema and typed rows of sheaf.h.
 *
 *   pq_common.c    the schema object, codecs (snappy, zstd, gzip, none), the RLE/bit-packed
 *                  hybrid, dates and timestamps as text
 *   parquet_write.c  a file of flat columns: pages, dictionaries, statistics, the footer
 *   parquet_read.c   the footer, the schema, row groups decoded column by column
 *   pq_job.c       the output format (a Parquet writer per part file) and the input format
 *                  (a split per row group), typed rows and fields
 */
#ifndef SHEAF_PARQUET_H
#define SHEAF_PARQUET_H

#include "internal.h"

/* Physical types, encodings, codecs and converted types of the format (parquet.thrift). */
enum {
    PQ_BOOLEAN = 0,
    PQ_INT32,
    PQ_INT64,
    PQ_INT96,
    PQ_FLOAT,
    PQ_DOUBLE,
    PQ_BYTE_ARRAY,
    PQ_FIXED_LEN_BYTE_ARRAY
};
enum {
    PQ_ENC_PLAIN = 0,
    PQ_ENC_PLAIN_DICTIONARY = 2,
    PQ_ENC_RLE = 3,
    PQ_ENC_BIT_PACKED = 4,
    PQ_ENC_DELTA_BINARY_PACKED = 5,
    PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    PQ_ENC_DELTA_BYTE_ARRAY = 7,
    PQ_ENC_RLE_DICTIONARY = 8,
    PQ_ENC_BYTE_STREAM_SPLIT = 9
};
enum {
    PQ_CODEC_NONE = 0,
    PQ_CODEC_SNAPPY = 1,
    PQ_CODEC_GZIP = 2,
    PQ_CODEC_LZO = 3,
    PQ_CODEC_BROTLI = 4,
    PQ_CODEC_LZ4 = 5,
    PQ_CODEC_ZSTD = 6,
    PQ_CODEC_LZ4_RAW = 7
};
enum {
    PQ_CT_NONE = -1,
    PQ_CT_UTF8 = 0,
    PQ_CT_ENUM = 4,
    PQ_CT_DECIMAL = 5,
    PQ_CT_DATE = 6,
    PQ_CT_TIME_MILLIS = 7,
    PQ_CT_TIME_MICROS = 8,
    PQ_CT_TIMESTAMP_MILLIS = 9,
    PQ_CT_TIMESTAMP_MICROS = 10,
    PQ_CT_UINT_8 = 11,
    PQ_CT_UINT_16 = 12,
    PQ_CT_UINT_32 = 13,
    PQ_CT_UINT_64 = 14,
    PQ_CT_JSON = 19
};
enum { PQ_PAGE_DATA = 0, PQ_PAGE_INDEX = 1, PQ_PAGE_DICTIONARY = 2, PQ_PAGE_DATA_V2 = 3 };

/* ---- pq_common.c ---- */

struct sheaf__col {
    char *name;
    sheaf_col_type type;
    bool nullable;
};
struct sheaf_schema {
    struct sheaf__col *cols;
    size_t n, cap;
};
/* A schema file's text (schema_file.c; path names it in err). NULL on failure. */
sheaf_schema *sheaf__schema_from_text(const char *path, const char *text, size_t len, char *err,
                                      size_t errlen);
/* A deep copy (NULL when out of memory). */
sheaf_schema *sheaf__schema_copy(const sheaf_schema *s);

/* "none", "snappy", "gzip", "zstd" -> PQ_CODEC_*, or -1. The name of a codec number. */
int sheaf__pq_codec_parse(const char *name);
const char *sheaf__pq_codec_name(int codec);
/* Compresses src into out (replacing its content). Returns 0, SHEAF_ENOMEM or SHEAF_EIO. */
int sheaf__pq_compress(int codec, int level, const uint8_t *src, size_t n, sheaf__buf *out);
/* Decompresses exactly want bytes. Returns 0 or SHEAF_EFORMAT (corrupt, another size) or
 * SHEAF_EINVAL (a codec this build does not read). */
int sheaf__pq_decompress(int codec, const uint8_t *src, size_t n, uint8_t *dst, size_t want);

/* Appends the RLE/bit-packed hybrid encoding of v[0..n) at bit width (1..32) to out. */
int sheaf__pq_rle_encode(const uint32_t *v, size_t n, int width, sheaf__buf *out);
/* Decodes n values of the hybrid at bit width (0..32) from [p, end) into out. Returns the
 * bytes used, or -1 when the data is short or malformed. */
long sheaf__pq_rle_decode(const uint8_t *p, const uint8_t *end, int width, uint32_t *out, size_t n);

/* Parses text as a value of a column type (strings: always; integers and doubles as strtoll
 * and strtod, whole text; bools as sheaf_schema_cast says): 0 with *i (ints, bools, dates,
 * timestamps) or *d set, or -1. */
int sheaf__parse_value(sheaf_col_type type, const char *p, size_t n, int64_t *i, double *d);
int sheaf__parse_bool(const char *p, size_t n, bool *v);
/* A column type by its name: exactly one of SHEAF__COL_TYPE_NAMES, or with aliases any case
 * (bigint long, int integer, float real, boolean, varchar text, timestamptz); 0 for none. */
#define SHEAF__COL_TYPE_NAMES "int64, int32, double, bool, string, date, timestamp"
sheaf_col_type sheaf__col_type_named(const char *p, size_t n, bool aliases);
/* The schema's name of a column type ("int64", "string"...). */
const char *sheaf__col_type_name(sheaf_col_type t);
/* Days since 1970-01-01 of a civil date, and back. */
int64_t sheaf__days_from_civil(int64_t y, unsigned m, unsigned d);
void sheaf__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
/* Parses YYYY-MM-DD (exactly); 0 or -1. */
int sheaf__parse_date(const char *s, size_t n, int32_t *days);
/* Parses "YYYY-MM-DD[ T]HH:MM:SS[.f{1,9}][Z|+00|+00:00]" or a date alone; microseconds since the
 * epoch, UTC. 0 or -1. */
int sheaf__parse_timestamp(const char *s, size_t n, int64_t *us);
/* Formats as YYYY-MM-DD, and YYYY-MM-DD HH:MM:SS[.ffffff] (fraction only when not zero, its
 * trailing zeros kept to six digits). Returns the length (out: 40 bytes or more). */
size_t sheaf__format_date(int32_t days, char *out);
size_t sheaf__format_timestamp(int64_t us, char *out);
/* The shortest decimal that reads back as d exactly, as %.15g, %.16g or %.17g prints it, the
 * first that reads back ("nan", "inf", "-inf" for those). */
size_t sheaf__format_double(double d, char *out, size_t cap);
/* The shortest decimal digits that read back as d (finite, not zero): nd of them (at most 17,
 * no trailing zero) into dig (24 bytes), the first at 10^*exp. Returns nd. */
size_t sheaf__double_digits(double d, char *dig, int *exp);
/* Lays such digits out: positional for exp from -4 to hi - 1 (hi at most 17), else
 * d.ddde+XX (two exponent digits at least); with point, a whole number ends in ".0". Writes up
 * to cap bytes of it (NUL-terminated) and returns its length. */
size_t sheaf__double_layout(bool neg, const char *dig, size_t nd, int exp, int hi, bool point,
                            char *out, size_t cap);

/* ---- parquet_write.c ---- */

typedef struct sheaf__pqw sheaf__pqw;
typedef struct sheaf__pqw_opts {
    int codec;               /* PQ_CODEC_*; default snappy */
    int level;               /* zstd and gzip level; 0: the library's default */
    uint64_t row_group_rows; /* rows per row group; 0: the default (1 Mi rows) */
    size_t dict_limit;       /* bytes of a column's dictionary before it falls back to PLAIN */
    size_t page_size;        /* bytes of values per data page */
} sheaf__pqw_opts;
void sheaf__pqw_opts_init(sheaf__pqw_opts *o);

/* Starts a file on fd (written from its current offset, which must be 0; the fd stays the
 * caller's). path names it in messages. NULL on failure, with the reason in err. */
sheaf__pqw *sheaf__pqw_open(int fd, const char *path, const sheaf_schema *s,
                            const sheaf__pqw_opts *o, char *err, size_t errlen);
/* Sets a column of the current row. i64 goes to INT64, INT32, DATE (days) and TIMESTAMP (us)
 * columns (range checked); double to DOUBLE; bool to BOOL; str to STRING. A column left unset
 * is null. Returns 0 or SHEAF_EINVAL (wrong type, out of range; message in the writer). */
int sheaf__pqw_set_i64(sheaf__pqw *w, size_t col, int64_t v);
int sheaf__pqw_set_double(sheaf__pqw *w, size_t col, double v);
int sheaf__pqw_set_bool(sheaf__pqw *w, size_t col, bool v);
int sheaf__pqw_set_str(sheaf__pqw *w, size_t col, const void *p, size_t n);
int sheaf__pqw_set_null(sheaf__pqw *w, size_t col);
/* Parses text into the column's type: an empty text is null; bools are true/false (also
 * 1/0, t/f, yes/no, any case). Returns 0 or SHEAF_EINVAL (does not cast). */
int sheaf__pqw_set_text(sheaf__pqw *w, size_t col, const char *p, size_t n);
/* Ends the row: a required column left unset is SHEAF_EINVAL; a full row group is written. */
int sheaf__pqw_end_row(sheaf__pqw *w);
/* Writes what is left and the footer. Returns 0 or a code (message in err). Frees w. */
int sheaf__pqw_close(sheaf__pqw *w, char *err, size_t errlen);
/* Frees w without finishing the file. */
void sheaf__pqw_abort(sheaf__pqw *w);
const char *sheaf__pqw_error(const sheaf__pqw *w);
uint64_t sheaf__pqw_rows(const sheaf__pqw *w);
uint64_t sheaf__pqw_bytes(const sheaf__pqw *w); /* bytes written so far */
const sheaf_schema *sheaf__pqw_schema(const sheaf__pqw *w);

/* ---- parquet_read.c ---- */

typedef struct sheaf__pqcol {
    char *name;
    int type;     /* PQ_* physical */
    int type_len; /* FIXED_LEN_BYTE_ARRAY */
    bool optional;
    int converted; /* PQ_CT_* or PQ_CT_NONE */
    int scale, precision;
    int ts_unit; /* timestamps: 1 ms, 2 us, 3 ns (logical or converted); 0 none */
    bool is_string, is_date, is_decimal, is_unsigned;
} sheaf__pqcol;

/* One decoded value of a column in a row group. */
typedef struct sheaf__pqval {
    union {
        int64_t i;
        double d;
        const uint8_t *p;
    } u;
    uint32_t len; /* bytes of p */
    uint8_t null;
} sheaf__pqval;

typedef struct sheaf__pqr sheaf__pqr;

/* Opens a file and reads its footer. NULL on failure, the reason (naming path) in err. */
sheaf__pqr *sheaf__pqr_open(const char *path, char *err, size_t errlen);
void sheaf__pqr_close(sheaf__pqr *r);
int sheaf__pqr_fd(const sheaf__pqr *r);
size_t sheaf__pqr_ncols(const sheaf__pqr *r);
const sheaf__pqcol *sheaf__pqr_col(const sheaf__pqr *r, size_t i);
size_t sheaf__pqr_nrowgroups(const sheaf__pqr *r);
uint64_t sheaf__pqr_rows(const sheaf__pqr *r, size_t rg); /* rows of a row group */
uint64_t sheaf__pqr_total_rows(const sheaf__pqr *r);
/* Byte range of a row group's column chunks (its split). */
void sheaf__pqr_rg_range(const sheaf__pqr *r, size_t rg, uint64_t *start, uint64_t *len);
const char *sheaf__pqr_created_by(const sheaf__pqr *r);
/* Decodes column col of row group rg: *vals (owned by the reader, valid until the next call
 * for this column or close) gets one value per row. Returns 0 or a code, the reason (naming
 * the file and the column) in err. */
int sheaf__pqr_read(sheaf__pqr *r, size_t rg, size_t col, const sheaf__pqval **vals, char *err,
                    size_t errlen);
/* A value as text (what the csv field API shows): returns its length; *out points either into
 * the reader's data (strings) or to buf (at least 64 bytes). A null is empty. */
size_t sheaf__pq_text(const sheaf__pqcol *c, const sheaf__pqval *v, char *buf, const char **out);

/* Page decoding, for the fuzz target: decodes a page's values (after decompression) of a
 * column of type/optional into vals (n rows). 0 or a code with err set. */
int sheaf__pq_decode_page_values(const sheaf__pqcol *c, int encoding, const uint8_t *p, size_t len,
                                 const sheaf__pqval *dict, size_t ndict, sheaf__pqval *vals,
                                 size_t n, char *err, size_t errlen);

#endif /* SHEAF_PARQUET_H */
