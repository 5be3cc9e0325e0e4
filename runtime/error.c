/*
 * error.c: the error table, per-rank error recording, and the collective agreement on
 * failure. A rank that fails records its first error (code and message) in its context and
 * goes on to the next phase boundary, where sheaf__agree() lets every rank learn which rank
 * failed first and why. Every rank then returns the same code.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

SHEAF_EXTERN const char *sheaf_strerror(int code) {
    switch (code) {
    case 0: return "success";
#define SHEAF_ERR_TEXT(name, value, text) case SHEAF_##name: return text;
        SHEAF_ERRNO_MAP(SHEAF_ERR_TEXT)
#undef SHEAF_ERR_TEXT
    default: return "unknown error";
    }
}

SHEAF_EXTERN const char *sheaf_err_name(int code) {
    switch (code) {
    case 0: return "SHEAF_OK";
#define SHEAF_ERR_NAME(name, value, text) case SHEAF_##name: return "SHEAF_" #name;
        SHEAF_ERRNO_MAP(SHEAF_ERR_NAME)
#undef SHEAF_ERR_NAME
    default: return "SHEAF_UNKNOWN";
    }
}

int sheaf__verror(sheaf_ctx *ctx, int code, const char *fmt, va_list ap) {
    if (code >= 0)
        code = SHEAF_EINVAL;
    if (ctx->err)
        return code;
    ctx->err = code;
    vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
    ctx->own_err = code;
    ctx->own_err_phase = ctx->cur_phase;
    ctx->own_err_time = sheaf__now();
    snprintf(ctx->own_errmsg, sizeof ctx->own_errmsg, "%.255s", ctx->errmsg); /* cut */
    return code;
}

int sheaf__error(sheaf_ctx *ctx, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sheaf__verror(ctx, code, fmt, ap);
    va_end(ap);
    return code;
}

SHEAF_EXTERN int sheaf_fail(sheaf_ctx *ctx, int code, const char *fmt, ...) {
    if (code >= 0)
        code = SHEAF_EUSER;
    if (ctx->err)
        return code;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if ((ctx->sink->flags & SHEAF__SINK_MAP) && ctx->cur_file)
        return sheaf__error(ctx, code, "%s (in map, file %s, offset %llu)", msg, ctx->cur_file,
                            (unsigned long long)ctx->cur_offset);
    return sheaf__error(ctx, code, "%s", msg);
}

/* The lowest rank of comm whose code is non-zero, with its code and message copied to every
 * rank (msg: msglen bytes on every rank); *first is the size of comm when none failed. */
static int agree(MPI_Comm comm, int code, char *msg, size_t msglen, int *first) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    int mine = code ? rank : size;
    if (MPI_Allreduce(&mine, first, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
        return SHEAF_EMPI;
    if (*first == size)
        return 0;
    if (MPI_Bcast(&code, 1, MPI_INT, *first, comm) != MPI_SUCCESS)
        return SHEAF_EMPI;
    for (size_t off = 0; off < msglen;) {
        int chunk = (int)SHEAF__MIN(msglen - off, (size_t)1 << 30);
        if (MPI_Bcast(msg + off, chunk, MPI_CHAR, *first, comm) != MPI_SUCCESS)
            return SHEAF_EMPI;
        off += (size_t)chunk;
    }
    if (msglen)
        msg[msglen - 1] = '\0';
    return code;
}

SHEAF_EXTERN int sheaf_agree(MPI_Comm comm, int code, char *msg, size_t msglen) {
    int first;
    return agree(comm, code, msg, msglen, &first);
}

int sheaf__agree(sheaf_ctx *ctx) {
    char msg[sizeof ctx->errmsg];
    memcpy(msg, ctx->errmsg, sizeof msg);
    int first, code = agree(ctx->comm, ctx->err, msg, sizeof msg, &first);
    if (code == 0 || code == SHEAF_EMPI)
        return code;
    ctx->err = code;
    ctx->agreed = true;
    snprintf(ctx->errmsg, sizeof ctx->errmsg, "rank %d: %s", first, msg);
    ctx->errmsg[sizeof ctx->errmsg - 1] = '\0';
    return code;
}

void sheaf__log(const sheaf_ctx *ctx, sheaf_log_level level, const char *fmt, ...) {
    if (level > ctx->cfg.log_level)
        return;
    if (ctx->cfg.quiet && level > SHEAF_LOG_ERROR)
        return;
    static const char *const names[] = {"error", "warning", "info", "debug"};
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "sheaf %s: rank %d: %s: %s\n", ctx->job->name ? ctx->job->name : "job",
            ctx->rank, names[level], msg);
}
