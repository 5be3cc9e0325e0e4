/*
 * join.c: a reduce-side join of two CSV files on a user id.
 *
 *   mpicc join.c $(pkg-config --cflags --libs sheaf) -o join
 *   mpirun -np 4 ./join -i users.csv -i orders.csv -o joined/
 *
 * The first input (-i) is users with a header line "id,name,...", the second is orders with a
 * header "order_id,user_id,amount,...". The output has one line per order whose user exists:
 * "user_id TAB name,order_id,amount" (an inner join). Either -i may be a directory of such
 * files.
 *
 * rec->input says which -i a record came from. The map keys both sides by user id and tags
 * each value with its side, 'U' or 'O'; reduce sees a user's row and orders together, in no
 * particular order, so it keeps the orders until the group ends. (For users with more orders
 * than memory, put the tag in the key and sort the user row first with a comparator, as
 * secondary_sort.c does, and nothing needs keeping.)
 */
#include <stdlib.h>
#include <string.h>

#include <sheaf.h>

/* The job reads CSV with a header line, whatever the command line says. */
static int configure(void *udata, sheaf_config *cfg) {
    (void)udata;
    cfg->input_format = "csv";
    cfg->csv_header = 1;
    return 0;
}

/* A field under a column name, or a job failure (the runtime adds the file and offset). */
#define FIELD(var, len, column)                                                        \
    if (!(var = sheaf_record_field(rec, column, &len)))                                \
        return sheaf_fail(ctx, SHEAF_EFORMAT, "no column '%s'", column);

static int map(sheaf_ctx *ctx, const sheaf_record *rec, void *udata) {
    const char *id, *a, *b;
    size_t idlen, alen, blen = 0;
    char value[1024];
    (void)udata;
    if (rec->input == 0) {
        FIELD(id, idlen, "id");
        FIELD(a, alen, "name");
        b = NULL;
    } else {
        FIELD(id, idlen, "user_id");
        FIELD(a, alen, "order_id");
        FIELD(b, blen, "amount");
    }
    if (alen + blen + 2 > sizeof value)
        return sheaf_fail(ctx, SHEAF_EFORMAT, "fields too long");
    /* The value: the tag, then the fields to keep ("name" or "order_id,amount"). */
    value[0] = b ? 'O' : 'U';
    memcpy(value + 1, a, alen);
    if (b) {
        value[1 + alen] = ',';
        memcpy(value + 2 + alen, b, blen);
    }
    return sheaf_emit(ctx, id, idlen, value, 1 + alen + (b ? 1 + blen : 0));
}

static int reduce(sheaf_ctx *ctx, const void *key, size_t klen, sheaf_values *vals,
                  void *udata) {
    char *name = NULL, *orders = NULL, *line;
    size_t namelen = 0, len = 0, cap = 0;
    const void *v;
    size_t vlen;
    int rc = 0;
    (void)udata;
    /* Values are valid until the next sheaf_values_next, so keep copies: the user's name,
     * and the orders one after another, each as "order_id,amount\n". */
    while (!rc && sheaf_values_next(vals, &v, &vlen)) {
        const char *tagged = v;
        if (tagged[0] == 'U' && !name) {
            if (!(name = malloc(vlen)))
                rc = SHEAF_ENOMEM;
            else
                memcpy(name, tagged + 1, namelen = vlen - 1);
        } else if (tagged[0] == 'O') {
            if (len + vlen > cap) {
                char *grown = realloc(orders, len + vlen + cap);
                if (!grown) {
                    rc = SHEAF_ENOMEM;
                    break;
                }
                orders = grown;
                cap += len + vlen;
            }
            memcpy(orders + len, tagged + 1, vlen - 1);
            orders[len + vlen - 1] = '\n';
            len += vlen;
        }
    }
    /* One output line per order: "user_id TAB name,order_id,amount". */
    for (char *o = orders; !rc && name && o < orders + len; o = strchr(o, '\n') + 1) {
        size_t olen = (size_t)(strchr(o, '\n') - o);
        if (!(line = malloc(namelen + 1 + olen))) {
            rc = SHEAF_ENOMEM;
            break;
        }
        memcpy(line, name, namelen);
        line[namelen] = ',';
        memcpy(line + namelen + 1, o, olen);
        rc = sheaf_emit(ctx, key, klen, line, namelen + 1 + olen);
        free(line);
    }
    free(name);
    free(orders);
    return rc;
}

int main(int argc, char **argv) {
    static const sheaf_job_def job = {
        .name = "join",
        .map = map,
        .reduce = reduce,
    };
    static const sheaf_command cmd = {
        .name = "join",
        .summary = "join users.csv (id,name) with orders.csv (order_id,user_id,amount)",
        .usage = "-i USERS -i ORDERS -o OUT",
        .configure = configure,
        .job = &job,
    };
    return sheaf_command_main(argc, argv, &cmd);
}
