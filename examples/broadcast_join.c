/*
 * broadcast_join.c: a map-side join of orders with a small users table every rank holds.
 *
 *   mpicc broadcast_join.c $(pkg-config --cflags --libs sheaf) -o broadcast_join
 *   mpirun -np 4 ./broadcast_join --users users.csv -i orders.csv -o joined/
 *
 * --users names the small side: a csv file (or a directory or glob of them, as -i takes) with
 * a header "id,name,...". The inputs (-i) are orders with a header "order_id,user_id,amount,
 * ...". The output is what join.c writes, one line per order whose user exists: "user_id TAB
 * name,order_id,amount", here without shuffling the users at all.
 *
 * It shows a program that is more than one job: a sheaf_command with an option of its own
 * (--users) and a run function. The run function loads the users on rank 0, with the
 * runtime's own helpers: sheaf_list_inputs lists the side as -i would, sheaf_csv_parse reads
 * its records as csv input is read, and sheaf_agree makes every rank return rank 0's error
 * (a missing file, a malformed record) instead of leaving the others waiting. Then it
 * broadcasts the table with MPI_Bcast and runs the job with sheaf_run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sheaf.h>

typedef struct user {
    const char *id, *name; /* into the table's text */
    size_t idlen, namelen;
} user;

typedef struct users {
    const char *path; /* --users */
    char *text;       /* "id TAB name LF" lines, the same on every rank */
    size_t len;
    user *rows;       /* sorted by id */
    size_t n;
} users;

static int option(void *udata, const char *name, const char *value) {
    users *u = udata;
    if (!name || strcmp(name, "users") != 0)
        return SHEAF_EUSAGE; /* no positional arguments */
    u->path = value;
    return 0;
}

/* Orders are csv with a header line, whatever the command line says. */
static int configure(void *udata, sheaf_config *cfg) {
    users *u = udata;
    if (!u->path) {
        fprintf(stderr, "broadcast_join: --users FILE is required\n");
        return SHEAF_EUSAGE;
    }
    cfg->input_format = "csv";
    cfg->csv_header = 1;
    return 0;
}

/* The column of a header record, or -1. */
static long column(const sheaf_csv *header, const char *name) {
    for (size_t i = 0; i < header->nfields; i++)
        if (header->field_lens[i] == strlen(name) && !memcmp(header->fields[i], name,
                                                             header->field_lens[i]))
            return (long)i;
    return -1;
}

/* Whether field i can go into the table's text (no tab or newline in it). */
static int plain(const sheaf_csv *rec, size_t i) {
    return !memchr(rec->fields[i], '\t', rec->field_lens[i]) &&
           !memchr(rec->fields[i], '\n', rec->field_lens[i]);
}

/* Rank 0: appends "id TAB name LF" for every user of one file to *text (users whose id or
 * name holds a tab or a newline are left out; a real program would escape them). */
static int load_file(const char *path, char **text, size_t *len, char *msg, size_t msglen) {
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    if (!f) {
        snprintf(msg, msglen, "cannot open %s", path);
        return SHEAF_EIO;
    }
    for (size_t got = 1; got > 0; n += got) {
        if (n == cap && !(data = realloc(data, cap = 2 * cap + 65536))) {
            fclose(f);
            return SHEAF_ENOMEM;
        }
        got = fread(data + n, 1, cap - n, f);
    }
    fclose(f);
    sheaf_csv header = {0}, rec = {0};
    long id = -1, name = -1;
    for (size_t off = 0; off < n && !rc;) {
        char why[160];
        long long used = sheaf_csv_parse(off ? &rec : &header, data + off, n - off, ',', why,
                                         sizeof why);
        if (used < 0) {
            snprintf(msg, msglen, "%s: malformed csv at offset %zu: %s", path, off, why);
            rc = (int)used;
            break;
        }
        if (off == 0) {
            id = column(&header, "id");
            name = column(&header, "name");
        }
        if (off == 0 && (id < 0 || name < 0)) {
            snprintf(msg, msglen, "%s: no column 'id' or 'name' in its header", path);
            rc = SHEAF_EFORMAT;
        } else if (off > 0 && rec.nfields > (size_t)id && rec.nfields > (size_t)name &&
                   plain(&rec, (size_t)id) && plain(&rec, (size_t)name)) {
            size_t need = rec.field_lens[id] + rec.field_lens[name] + 2;
            char *t = realloc(*text, *len + need + 1);
            if (!t) {
                rc = SHEAF_ENOMEM;
                break;
            }
            *text = t;
            memcpy(t + *len, rec.fields[id], rec.field_lens[id]);
            t[*len + rec.field_lens[id]] = '\t';
            memcpy(t + *len + rec.field_lens[id] + 1, rec.fields[name], rec.field_lens[name]);
            *len += need;
            t[*len - 1] = '\n';
        }
        off += (size_t)used;
    }
    sheaf_csv_free(&header);
    sheaf_csv_free(&rec);
    free(data);
    return rc;
}

static int by_id(const void *a, const void *b) {
    const user *x = a, *y = b;
    size_t n = x->idlen < y->idlen ? x->idlen : y->idlen;
    int c = memcmp(x->id, y->id, n);
    return c ? c : (x->idlen > y->idlen) - (x->idlen < y->idlen);
}

/* Every rank: the sorted rows of the table's text. */
static int index_rows(users *u) {
    size_t lines = 0;
    for (size_t i = 0; i < u->len; i++)
        lines += u->text[i] == '\n';
    if (!(u->rows = calloc(lines + 1, sizeof *u->rows)))
        return SHEAF_ENOMEM;
    for (const char *p = u->text, *end = u->text + u->len; p < end;) {
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        const char *tab = memchr(p, '\t', (size_t)(lf - p));
        u->rows[u->n++] = (user){p, tab + 1, (size_t)(tab - p), (size_t)(lf - tab - 1)};
        p = lf + 1;
    }
    qsort(u->rows, u->n, sizeof *u->rows, by_id);
    return 0;
}

static int map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    const users *u = udata;
    user key = {0};
    const char *order, *amount;
    size_t olen, alen;
    if (!(key.id = sheaf_record_field(rec, "user_id", &key.idlen)) ||
        !(order = sheaf_record_field(rec, "order_id", &olen)) ||
        !(amount = sheaf_record_field(rec, "amount", &alen)))
        return sheaf_fail(ctx, SHEAF_EFORMAT, "no column user_id, order_id or amount");
    const user *who = bsearch(&key, u->rows, u->n, sizeof *u->rows, by_id);
    if (!who)
        return 0; /* an inner join: orders of unknown users are dropped */
    char value[1024];
    int n = snprintf(value, sizeof value, "%.*s,%.*s,%.*s", (int)who->namelen, who->name,
                     (int)olen, order, (int)alen, amount);
    if (n < 0 || (size_t)n >= sizeof value)
        return sheaf_fail(ctx, SHEAF_EFORMAT, "fields too long");
    return sheaf_emit(ctx, key.id, key.idlen, value, (size_t)n);
}

/* Every joined row as it is. */
static int reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                  void *udata) {
    const void *v;
    size_t vlen;
    int rc = 0;
    (void)udata;
    while (!rc && sheaf_values_next(vals, &v, &vlen))
        rc = sheaf_emit(ctx, key, klen, v, vlen);
    return rc;
}

/* Collective: rank 0 loads the users, every rank learns whether that worked (sheaf_agree)
 * and gets the table; then the join runs once. */
static int run(MPI_Comm comm, const sheaf_command *cmd, const sheaf_config *cfg,
               sheaf_result *res) {
    users *u = cmd->udata;
    char msg[512] = "";
    int rank, rc = 0;
    MPI_Comm_rank(comm, &rank);
    if (rank == 0) {
        char **files;
        size_t n;
        int listed = sheaf_list_inputs(u->path, &files, &n, msg, sizeof msg);
        rc = listed;
        for (size_t i = 0; !rc && i < n; i++)
            rc = load_file(files[i], &u->text, &u->len, msg, sizeof msg);
        if (listed == 0)
            sheaf_list_free(files, n);
    }
    if ((rc = sheaf_agree(comm, rc, msg, sizeof msg)) != 0) {
        free(u->text);
        memset(res, 0, sizeof *res);
        res->status = rc;
        res->failed_rank = 0;
        snprintf(res->message, sizeof res->message, "--users: %s", msg);
        return rc;
    }
    unsigned long long len = u->len;
    MPI_Bcast(&len, 1, MPI_UNSIGNED_LONG_LONG, 0, comm);
    if (rank != 0 && !(u->text = malloc(len + 1)))
        MPI_Abort(comm, 1); /* a few bytes per user: the example keeps this simple */
    u->len = (size_t)len;
    MPI_Bcast(u->text, (int)len, MPI_CHAR, 0, comm); /* a small side: under 2 GiB */
    rc = index_rows(u);
    rc = sheaf_agree(comm, rc, msg, sizeof msg);
    if (!rc)
        rc = sheaf_run(comm, cmd->job, cfg, res);
    free(u->rows);
    free(u->text);
    return rc;
}

int main(int argc, char **argv) {
    static users table;
    static const sheaf_option options[] = {
        {"users", "PATH", "the users: csv with a header id,name (a file, directory or glob)"},
        {NULL, NULL, NULL},
    };
    static const sheaf_job_def job = {
        .name = "broadcast_join",
        .map = map,
        .reduce = reduce,
        .udata = &table,
    };
    static const sheaf_command cmd = {
        .name = "broadcast_join",
        .summary = "join orders with a users table every rank holds: user_id TAB "
                   "name,order_id,amount",
        .usage = "--users USERS -i ORDERS -o OUT",
        .options = options,
        .parse_option = option,
        .configure = configure,
        .udata = &table,
        .job = &job,
        .run = run,
    };
    return sheaf_command_main(argc, argv, &cmd);
}
