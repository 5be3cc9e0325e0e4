/*
 * fields.c: a test job that writes every record's parsed fields, so the input formats can be
 * compared with an independent parser. The key is the record's file offset (20 digits, so
 * keys sort by offset), the value `input|nfields|f1|f2|...` with `\`, `|`, CR and LF escaped.
 * With --column NAME the value is that column, looked up through sheaf_record_field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sheaf.h>

static const char *column;

static void put(char **p, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' || c == '|') {
            *(*p)++ = '\\';
            *(*p)++ = c;
        } else if (c == '\n') {
            *(*p)++ = '\\';
            *(*p)++ = 'n';
        } else if (c == '\r') {
            *(*p)++ = '\\';
            *(*p)++ = 'r';
        } else {
            *(*p)++ = c;
        }
    }
}

static int map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    (void)udata;
    char key[32];
    int kn = snprintf(key, sizeof key, "%020llu", (unsigned long long)rec->offset);
    char *val = malloc(rec->len * 2 + rec->nfields * 2 + 64), *p = val;
    if (!val)
        return SHEAF_ENOMEM;
    if (column) {
        size_t n;
        const char *f = sheaf_record_field(rec, column, &n);
        if (!f) {
            free(val);
            return sheaf_fail(ctx, SHEAF_EUSER, "no column %s", column);
        }
        put(&p, f, n);
    } else {
        p += sprintf(p, "%u|%zu", rec->input, rec->nfields);
        if (rec->nfields == 0) {
            *p++ = '|';
            put(&p, rec->data, rec->len);
        }
        for (size_t i = 0; i < rec->nfields; i++) {
            *p++ = '|';
            put(&p, rec->fields[i], rec->field_lens[i]);
        }
    }
    int rc = sheaf_emit(ctx, key, (size_t)kn, val, (size_t)(p - val));
    free(val);
    return rc;
}

static int parse(void *udata, const char *name, const char *value) {
    (void)udata;
    if (name && !strcmp(name, "column")) {
        column = value;
        return 0;
    }
    return -1;
}

static const sheaf_option options[] = {{"column", "NAME", "write only this column"},
                                       {NULL, NULL, NULL}};

int main(int argc, char **argv) {
    static const sheaf_job_def job = {.name = "fields", .map = map};
    static const sheaf_command cmd = {.name = "fields", .options = options, .parse_option = parse,
                                      .job = &job};
    return sheaf_command_main(argc, argv, &cmd);
}
