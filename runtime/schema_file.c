/*
 * schema_file.c: schema files (sheaf_schema_load), the --schema FILE of jobs that read typed
 * rows. Two forms, told apart by the first character that is not a space:
 *
 *   JSON ('{' or '['):  {"columns": [{"name": "origin", "type": "string", "nullable": false},
 *                                    {"name": "year", "type": "int64"}]}
 *                       or the array alone; "nullable" defaults to true, as in Spark and Glue.
 *   DDL-like text:      origin string NOT NULL,
 *                       year   int64          -- a comment
 *                       delay  double NULL
 *                       items separated by commas or new lines; NAME TYPE [NOT NULL | NULL],
 *                       nullable unless NOT NULL (as SQL's CREATE TABLE), or NAME:TYPE[?] as
 *                       the inline --schema (required unless '?'); names may be quoted with
 *                       "..." or `...`; `--` and `#` start comments; an optional
 *                       CREATE TABLE name ( ... ) around the list.
 *
 * Types by name, any case: int64 bigint long, int32 int integer, double float real, bool
 * boolean, string varchar text, date, timestamp timestamptz. JSON is parsed with jansson; the
 * text form by a small tokenizer that keeps each token's line and column. Every error names the
 * file, then the line and column (text, and JSON syntax) or the column's place in the JSON
 * (columns[2]).
 */
#include "parquet.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

/* Type names: any case, with SQL's and Spark's aliases (sheaf__col_type_named). */
static sheaf_col_type type_named(const char *p, size_t n) {
    return sheaf__col_type_named(p, n, true);
}

/* ---- JSON ---- */

static sheaf_schema *from_json(const char *path, const char *text, size_t len, char *err,
                               size_t errlen) {
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    sheaf_schema *s = NULL;
    if (!root) {
        snprintf(err, errlen, "%s: line %d, column %d: %s", path, je.line, je.column, je.text);
        return NULL;
    }
    json_t *cols = json_is_array(root) ? root : json_object_get(root, "columns");
    if (json_is_object(root)) {
        const char *key;
        json_t *v;
        json_object_foreach(root, key, v) {
            if (strcmp(key, "columns")) {
                snprintf(err, errlen,
                         "%s: unknown member \"%s\" (a schema is {\"columns\": [...]})", path,
                         key);
                goto out;
            }
        }
    }
    if (!json_is_array(cols)) {
        snprintf(err, errlen, "%s: not a schema: want {\"columns\": [...]} or [...]", path);
        goto out;
    }
    if (!(s = sheaf_schema_new())) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    size_t i;
    json_t *c;
    json_array_foreach(cols, i, c) {
        const char *key;
        json_t *v;
        if (!json_is_object(c)) {
            snprintf(err, errlen, "%s: columns[%zu]: not an object {\"name\": ..., \"type\": ...}",
                     path, i);
            goto bad;
        }
        json_object_foreach(c, key, v) {
            if (strcmp(key, "name") && strcmp(key, "type") && strcmp(key, "nullable")) {
                snprintf(err, errlen,
                         "%s: columns[%zu]: unknown member \"%s\" (name, type, nullable)", path, i,
                         key);
                goto bad;
            }
        }
        json_t *name = json_object_get(c, "name"), *type = json_object_get(c, "type");
        json_t *nullable = json_object_get(c, "nullable");
        if (!json_is_string(name) || !json_string_length(name)) {
            snprintf(err, errlen, "%s: columns[%zu]: \"name\" is not a non-empty string", path, i);
            goto bad;
        }
        const char *n = json_string_value(name);
        if (!json_is_string(type)) {
            snprintf(err, errlen, "%s: columns[%zu] (%s): \"type\" is not a string", path, i, n);
            goto bad;
        }
        sheaf_col_type t = type_named(json_string_value(type), json_string_length(type));
        if (!t) {
            snprintf(err, errlen, "%s: columns[%zu] (%s): unknown type \"%s\" (%s)", path, i, n,
                     json_string_value(type), SHEAF__COL_TYPE_NAMES);
            goto bad;
        }
        if (nullable && !json_is_boolean(nullable)) {
            snprintf(err, errlen, "%s: columns[%zu] (%s): \"nullable\" is not true or false",
                     path, i, n);
            goto bad;
        }
        if (strlen(n) != json_string_length(name) ||
            sheaf_schema_add(s, n, t, nullable ? json_is_true(nullable) : 1)) {
            snprintf(err, errlen, "%s: columns[%zu]: the name \"%s\" is repeated or holds a NUL",
                     path, i, n);
            goto bad;
        }
    }
    if (!sheaf_schema_columns(s)) {
        snprintf(err, errlen, "%s: no columns", path);
        goto bad;
    }
    goto out;
bad:
    sheaf_schema_free(s);
    s = NULL;
out:
    json_decref(root);
    return s;
}

/* ---- the DDL-like text ---- */

typedef struct lexer {
    const char *p, *end, *path;
    size_t line, col; /* of p, from 1 */
    /* the last token: its bytes (a quoted name unquoted into buf) and where it started */
    char buf[1024];
    size_t len, tline, tcol;
    bool quoted;
    char *err;
    size_t errlen;
} lexer;

static void advance(lexer *x) {
    if (*x->p == '\n')
        x->line++, x->col = 1;
    else
        x->col++;
    x->p++;
}

/* The next token: 1 (a word or quoted name), ',' , 0 at the end, or -1 (error set). Spaces,
 * comments, parentheses are skipped; a new line counts as a comma. */
static int next_token(lexer *x) {
    for (;;) {
        while (x->p < x->end && (*x->p == ' ' || *x->p == '\t' || *x->p == '\r' ||
                                 *x->p == '(' || *x->p == ')' || *x->p == ';'))
            advance(x);
        bool dash2 = x->p + 1 < x->end && x->p[0] == '-' && x->p[1] == '-';
        if (x->p < x->end && (*x->p == '#' || dash2))
            while (x->p < x->end && *x->p != '\n')
                advance(x);
        if (x->p >= x->end)
            return 0;
        x->tline = x->line;
        x->tcol = x->col;
        if (*x->p == ',' || *x->p == '\n') {
            advance(x);
            return ',';
        }
        x->len = 0;
        x->quoted = *x->p == '"' || *x->p == '`';
        if (x->quoted) {
            char q = *x->p;
            advance(x);
            for (;;) {
                if (x->p >= x->end) {
                    snprintf(x->err, x->errlen, "%s:%zu:%zu: a name quoted with %c is not closed",
                             x->path, x->tline, x->tcol, q);
                    return -1;
                }
                if (*x->p == q && !(x->p + 1 < x->end && x->p[1] == q)) {
                    advance(x);
                    break;
                }
                if (*x->p == q)
                    advance(x);
                if (x->len + 1 >= sizeof x->buf || !*x->p) {
                    snprintf(x->err, x->errlen, "%s:%zu:%zu: a name too long or holding a NUL",
                             x->path, x->tline, x->tcol);
                    return -1;
                }
                x->buf[x->len++] = *x->p;
                advance(x);
            }
        } else {
            while (x->p < x->end && !isspace((unsigned char)*x->p) && *x->p != ',' &&
                   *x->p != '(' && *x->p != ')' && *x->p != ';') {
                if (x->len + 1 >= sizeof x->buf || !*x->p) {
                    snprintf(x->err, x->errlen, "%s:%zu:%zu: a word too long or holding a NUL",
                             x->path, x->tline, x->tcol);
                    return -1;
                }
                x->buf[x->len++] = *x->p;
                advance(x);
            }
        }
        x->buf[x->len] = 0;
        return 1;
    }
}

static bool word_is(const lexer *x, const char *w) {
    return !x->quoted && !strcasecmp(x->buf, w);
}

static sheaf_schema *from_text(const char *path, const char *text, size_t len, char *err,
                               size_t errlen) {
    lexer x = {.p = text, .end = text + len, .path = path, .line = 1, .col = 1, .err = err,
               .errlen = errlen};
    sheaf_schema *s = sheaf_schema_new();
    if (!s) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    int t = next_token(&x);
    while (t == ',')
        t = next_token(&x);
    if (t == 1 && word_is(&x, "create")) { /* CREATE TABLE name ( ... ) */
        if ((t = next_token(&x)) != 1 || !word_is(&x, "table") || (t = next_token(&x)) != 1) {
            snprintf(err, errlen, "%s:%zu:%zu: want CREATE TABLE NAME (columns)", path, x.tline,
                     x.tcol);
            goto bad;
        }
        t = next_token(&x);
    }
    while (t != 0) {
        if (t < 0)
            goto bad;
        if (t == ',') {
            t = next_token(&x);
            continue;
        }
        char name[sizeof x.buf];
        size_t nline = x.tline, ncol = x.tcol;
        sheaf_col_type type;
        int nullable;
        char *colon = x.quoted ? NULL : strchr(x.buf, ':');
        if (colon) { /* NAME:TYPE[?] */
            size_t tl = strlen(colon + 1);
            nullable = tl && colon[tl] == '?';
            snprintf(name, sizeof name, "%.*s", (int)(colon - x.buf), x.buf);
            if (!(type = type_named(colon + 1, tl - (size_t)nullable))) {
                snprintf(err, errlen, "%s:%zu:%zu: column '%s': unknown type '%.*s' (%s)", path,
                         nline, ncol + (size_t)(colon - x.buf) + 1, name,
                         (int)(tl - (size_t)nullable), colon + 1, SHEAF__COL_TYPE_NAMES);
                goto bad;
            }
            t = next_token(&x);
        } else { /* NAME TYPE [NOT NULL | NULL] */
            snprintf(name, sizeof name, "%s", x.buf);
            if ((t = next_token(&x)) != 1) {
                if (t < 0)
                    goto bad;
                snprintf(err, errlen, "%s:%zu:%zu: column '%s' has no type (%s)", path, nline,
                         ncol, name, SHEAF__COL_TYPE_NAMES);
                goto bad;
            }
            if (!(type = type_named(x.buf, x.len))) {
                snprintf(err, errlen, "%s:%zu:%zu: column '%s': unknown type '%s' (%s)", path,
                         x.tline, x.tcol, name, x.buf, SHEAF__COL_TYPE_NAMES);
                goto bad;
            }
            nullable = 1;
            t = next_token(&x);
            if (t == 1 && word_is(&x, "not")) {
                size_t l = x.tline, c = x.tcol;
                if ((t = next_token(&x)) != 1 || !word_is(&x, "null")) {
                    snprintf(err, errlen, "%s:%zu:%zu: NOT without NULL", path, l, c);
                    goto bad;
                }
                nullable = 0;
                t = next_token(&x);
            } else if (t == 1 && word_is(&x, "null")) {
                t = next_token(&x);
            } else if (t == 1 && x.tline == nline) {
                snprintf(err, errlen, "%s:%zu:%zu: '%s' after column '%s' (want NOT NULL, NULL, "
                         "a comma or a new line)", path, x.tline, x.tcol, x.buf, name);
                goto bad;
            }
        }
        if (!name[0] || sheaf_schema_add(s, name, type, nullable)) {
            snprintf(err, errlen, "%s:%zu:%zu: column '%s': an empty or repeated name", path,
                     nline, ncol, name);
            goto bad;
        }
        if (t == 1) {
            snprintf(err, errlen, "%s:%zu:%zu: '%s': want a comma or a new line between columns",
                     path, x.tline, x.tcol, x.buf);
            goto bad;
        }
    }
    if (!sheaf_schema_columns(s)) {
        snprintf(err, errlen, "%s: no columns", path);
        goto bad;
    }
    return s;
bad:
    sheaf_schema_free(s);
    return NULL;
}

sheaf_schema *sheaf__schema_from_text(const char *path, const char *text, size_t len, char *err,
                                      size_t errlen) {
    size_t i = 0;
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    if (i < len && (text[i] == '{' || text[i] == '['))
        return from_json(path, text, len, err, errlen);
    return from_text(path, text, len, err, errlen);
}

SHEAF_EXTERN sheaf_schema *sheaf_schema_load(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    sheaf__buf b = {0};
    size_t n;
    do {
        if (sheaf__buf_reserve(&b, 65536)) {
            fclose(f);
            sheaf__buf_free(&b);
            snprintf(err, errlen, "%s: out of memory", path);
            return NULL;
        }
        n = fread(b.data + b.len, 1, 65536, f);
        b.len += n;
    } while (n > 0 && b.len < (16u << 20));
    int bad = ferror(f);
    fclose(f);
    if (bad || b.len >= (16u << 20)) {
        snprintf(err, errlen, "%s: %s", path, bad ? "cannot read it" : "larger than 16 MiB");
        sheaf__buf_free(&b);
        return NULL;
    }
    sheaf_schema *s = sheaf__schema_from_text(path, (const char *)b.data, b.len, err, errlen);
    sheaf__buf_free(&b);
    return s;
}
