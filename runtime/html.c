/*
 * html.c: _report.html, the job report as a page a person reads at a glance.
 *
 * One self-contained file (inline CSS and SVG, no scripts, nothing fetched): a header with the
 * job's status, time and error; a timeline with one row per rank and one bar per phase
 * (setup, map, shuffle, sort, reduce, commit), on a common time axis, so stragglers and
 * imbalance show as ragged bar ends, and the straggler (the rank whose map ran longest) is
 * marked; the figures of each phase over all ranks (time, bytes, rate); the rank-by-rank
 * shuffle matrix; bar charts of the bytes each rank mapped and received and its peak memory;
 * the ranks grouped by host; spill and merge figures per rank; the counters table with
 * per-rank min, max and mean in human units; and the configuration with the command line. A
 * failed job's page starts with the failing rank, its phase and its message. It is built from
 * the same jansson object as _report.json, so the two never disagree.
 */
#include "internal.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void put(sheaf__buf *b, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void put(sheaf__buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || sheaf__buf_reserve(b, (size_t)n + 1))
        return;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void put_escaped(sheaf__buf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': put(b, "&lt;"); break;
        case '>': put(b, "&gt;"); break;
        case '&': put(b, "&amp;"); break;
        case '"': put(b, "&quot;"); break;
        default: put(b, "%c", *s);
        }
    }
}

/* n with thousands separators: 1234567 -> "1,234,567". */
static void put_count(sheaf__buf *b, uint64_t n) {
    char d[32], out[48];
    int len = snprintf(d, sizeof d, "%llu", (unsigned long long)n), o = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = d[i];
    }
    out[o] = '\0';
    put(b, "%s", out);
}

/* A count from the report, as an unsigned integer (a figure out of range reads as 0). */
static uint64_t count_of(double v) {
    return v >= 0 && v < 18e18 ? (uint64_t)v : 0;
}

/* Bytes in binary units: "718.2 KiB"; under 1 KiB, exact ("512 B"). */
static void put_bytes(sheaf__buf *b, double v) {
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (!(v >= 1024)) {
        put(b, "%.0f B", v);
        return;
    }
    int u = -1;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    put(b, "%.1f %s", v, units[u]);
}

static const char *const colors[SHEAF__PH_COUNT] = {"#9e9e9e", "#1f77b4", "#ff7f0e",
                                                   "#2ca02c", "#9467bd", "#8c564b"};

static double num(json_t *o, const char *k) {
    return json_number_value(json_object_get(o, k));
}

/* A horizontal bar chart of one per-rank figure. */
static void bars(sheaf__buf *b, json_t *ranks, const char *title, const char *key,
                 const char *counter, double scale, const char *unit) {
    size_t n = json_array_size(ranks);
    double mx = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(ranks, i);
        double v = counter ? num(json_object_get(r, "counters"), counter) : num(r, key);
        mx = v > mx ? v : mx;
    }
    int rowh = 18, w = 640, left = 70, h = (int)n * rowh + 10;
    put(b, "<h3>%s</h3>\n<svg class=\"bars\" width=\"%d\" height=\"%d\" role=\"img\">\n", title,
        w + left + 120, h);
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(ranks, i);
        double v = counter ? num(json_object_get(r, "counters"), counter) : num(r, key);
        double bw = mx > 0 ? v / mx * w : 0;
        int y = (int)i * rowh + 4;
        put(b,
            "<text x=\"0\" y=\"%d\" class=\"lbl\">rank %zu</text><rect x=\"%d\" y=\"%d\" "
            "width=\"%.1f\" height=\"%d\" fill=\"#4e79a7\"/><text x=\"%.1f\" y=\"%d\" "
            "class=\"val\">%.2f %s</text>\n",
            y + 12, i, left, y, bw, rowh - 4, left + bw + 6, y + 12, v / scale, unit);
    }
    put(b, "</svg>\n");
}

char *sheaf__report_html(json_t *root) {
    sheaf__buf b = {0};
    json_t *ranks = json_object_get(root, "ranks");
    size_t n = json_array_size(ranks);
    const char *job = json_string_value(json_object_get(root, "job"));
    const char *status = json_string_value(json_object_get(root, "status"));
    double total = num(root, "seconds");
    put(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>sheaf ");
    put_escaped(&b, job);
    put(&b, " report</title>\n<style>body{font:14px sans-serif;margin:2em;color:#222}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;"
            "text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}"
            ".ok{color:#2a7}.bad{color:#c33}.lbl,.val{font:12px sans-serif}"
            ".legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}"
            ".failure{border:2px solid #c33;background:#fdecea;padding:8px 12px;margin:1em 0}"
            ".warn{color:#a60}.straggler text{font-weight:bold;fill:#c33}"
            "tr.host th{text-align:left;background:#e8eef7}"
            "#shuffle-matrix td{min-width:5em}pre{background:#f4f4f4;padding:6px;"
            "white-space:pre-wrap}"
            "</style></head><body>\n");
    put(&b, "<h1>sheaf ");
    put_escaped(&b, job);
    put(&b, ": <span class=\"%s\">", status && !strcmp(status, "SUCCEEDED") ? "ok" : "bad");
    put_escaped(&b, status ? status : "?");
    put(&b, "</span></h1>\n");
    put(&b, "<p>%zu ranks, %.3f s, finished ", n, total);
    put_escaped(&b, json_string_value(json_object_get(root, "finished")));
    put(&b, ".</p>\n");
    const char *err = json_string_value(json_object_get(root, "error"));
    if (err) {
        json_t *fr = json_object_get(root, "failed_rank");
        const char *fp = json_string_value(json_object_get(root, "failed_phase"));
        put(&b, "<div id=\"failure\" class=\"failure\"><strong>Failed: rank %lld",
            fr ? (long long)json_integer_value(fr) : -1LL);
        if (fp) {
            put(&b, ", in the ");
            put_escaped(&b, fp);
            put(&b, " phase, %.3f s after the start", num(root, "failed_at_seconds"));
        }
        put(&b, "</strong><p>");
        put_escaped(&b, err);
        put(&b, "</p><p>The output directory was left as it was before the job; the timeline "
                "below runs up to the failure.</p></div>\n");
    }
    json_t *warns = json_object_get(root, "warnings");
    for (size_t i = 0; i < json_array_size(warns); i++) {
        put(&b, "<p class=\"warn\">Warning: ");
        put_escaped(&b, json_string_value(json_array_get(warns, i)));
        put(&b, "</p>\n");
    }
    json_t *strag = json_object_get(root, "straggler");
    long long straggler = strag ? (long long)json_integer_value(json_object_get(strag, "rank"))
                                : -1;
    if (strag)
        put(&b, "<p id=\"straggler\">Straggler: <strong>rank %lld</strong>, whose map ran "
                "%.3f s, %.2f times the mean.</p>\n",
            straggler, num(strag, "map_seconds"), num(strag, "over_mean"));
    json_t *imb = json_object_get(root, "imbalance");
    if (imb)
        put(&b, "<p>Imbalance (max/mean): map time %.2f, bytes mapped %.2f.</p>\n",
            num(imb, "map_seconds_max_over_mean"), num(imb, "input_bytes_max_over_mean"));

    /* The timeline. */
    int rowh = 22, w = 760, left = 150;
    double span = total > 0 ? total : 1;
    put(&b, "<h2>Timeline</h2>\n<div class=\"legend\">");
    for (int p = 0; p < SHEAF__PH_COUNT; p++)
        put(&b, "<span style=\"background:%s\"></span>%s", colors[p], sheaf__phase_names[p]);
    put(&b, "</div>\n<svg id=\"timeline\" width=\"%d\" height=\"%d\" role=\"img\">\n",
        left + w + 20, (int)n * rowh + 30);
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(ranks, i);
        json_t *ph = json_object_get(r, "phases");
        int y = (int)i * rowh + 4;
        bool slow = (long long)i == straggler;
        put(&b, "<g class=\"rank%s\" data-rank=\"%zu\"><text x=\"0\" y=\"%d\" class=\"lbl\">"
                "%srank %zu ", slow ? " straggler" : "", i, y + 14, slow ? "&#9654; " : "", i);
        put_escaped(&b, json_string_value(json_object_get(r, "host")));
        put(&b, "</text>");
        if (slow)
            put(&b, "<title>the straggler: its map ran longest</title>");
        for (int p = 0; p < SHEAF__PH_COUNT; p++) {
            json_t *o = json_object_get(ph, sheaf__phase_names[p]);
            if (!o)
                continue;
            double s = num(o, "start"), e = num(o, "end");
            double x = left + s / span * w, bw = (e - s) / span * w;
            put(&b, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\">"
                    "<title>rank %zu %s: %.3f s to %.3f s</title></rect>",
                x, y, bw < 0.5 ? 0.5 : bw, rowh - 6, colors[p], i, sheaf__phase_names[p], s, e);
        }
        put(&b, "</g>\n");
    }
    int ay = (int)n * rowh + 8;
    put(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#555\"/>", left, ay,
        left + w, ay);
    for (int t = 0; t <= 4; t++)
        put(&b, "<text x=\"%.1f\" y=\"%d\" class=\"lbl\">%.2f s</text>", left + t * w / 4.0 - 10,
            ay + 16, span * t / 4);
    put(&b, "\n</svg>\n");

    json_t *phases = json_object_get(root, "phases");
    if (phases) {
        put(&b, "<h2>Phases</h2>\n<table id=\"phases\"><tr><th>phase</th><th>start (s)</th>"
                "<th>end (s)</th><th>seconds</th><th>bytes</th><th>throughput</th></tr>\n");
        for (int p = 0; p < SHEAF__PH_COUNT; p++) {
            json_t *o = json_object_get(phases, sheaf__phase_names[p]);
            if (!o)
                continue;
            put(&b, "<tr><td>%s</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>",
                sheaf__phase_names[p], num(o, "start"), num(o, "end"), num(o, "seconds"));
            if (json_object_get(o, "bytes")) {
                put_bytes(&b, num(o, "bytes"));
                put(&b, "</td><td>");
                put_bytes(&b, num(o, "bytes_per_second"));
                put(&b, "/s");
            } else {
                put(&b, "</td><td>");
            }
            put(&b, "</td></tr>\n");
        }
        put(&b, "</table>\n");
    }
    json_t *mx = json_object_get(root, "shuffle_matrix");
    if (json_array_size(mx) > 0) {
        size_t m = json_array_size(mx);
        double top = 0;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < m; j++) {
                double v = json_number_value(json_array_get(json_array_get(mx, i), j));
                top = v > top ? v : top;
            }
        put(&b, "<h2>Shuffle volume</h2>\n<p>Bytes each rank (row) sent to each rank "
                "(column), its own partitions included.</p>\n<table id=\"shuffle-matrix\">"
                "<tr><th>from \\ to</th>");
        for (size_t j = 0; j < m; j++)
            put(&b, "<th>rank %zu</th>", j);
        put(&b, "</tr>\n");
        for (size_t i = 0; i < m; i++) {
            put(&b, "<tr><th>rank %zu</th>", i);
            for (size_t j = 0; j < m; j++) {
                double v = json_number_value(json_array_get(json_array_get(mx, i), j));
                put(&b, "<td data-bytes=\"%.0f\" style=\"background:rgba(78,121,167,%.2f)\">", v,
                    top > 0 ? 0.08 + 0.6 * v / top : 0);
                put_bytes(&b, v);
                put(&b, "</td>");
            }
            put(&b, "</tr>\n");
        }
        put(&b, "</table>\n");
    }

    put(&b, "<h2>Per rank</h2>\n");
    bars(&b, ranks, "Bytes mapped", NULL, "input_bytes", 1048576.0, "MiB");
    bars(&b, ranks, "Shuffle bytes received", NULL, "shuffle_bytes_received", 1048576.0, "MiB");
    bars(&b, ranks, "Peak memory (RSS)", "peak_rss_bytes", NULL, 1048576.0, "MiB");
    bars(&b, ranks, "Map time", "map_seconds", NULL, 1.0, "s");

    put(&b, "<h2>Ranks</h2>\n<table><tr><th>rank</th><th>host</th><th>CPU set</th>"
            "<th>binding</th><th>splits</th><th>peak RSS (MiB)</th><th>status</th></tr>\n");
    /* Grouped by host, in the order hosts first appear; a heading row per host. */
    bool *shown = calloc(n ? n : 1, sizeof *shown);
    for (size_t h = 0; shown && h < n; h++) {
        if (shown[h])
            continue;
        const char *host = json_string_value(json_object_get(json_array_get(ranks, h), "host"));
        size_t count = 0;
        for (size_t i = h; i < n; i++) {
            const char *hi = json_string_value(json_object_get(json_array_get(ranks, i), "host"));
            count += hi && host && !strcmp(hi, host);
        }
        put(&b, "<tr class=\"host\"><th colspan=\"7\">");
        put_escaped(&b, host);
        put(&b, ": %zu rank%s</th></tr>\n", count, count == 1 ? "" : "s");
        for (size_t i = h; i < n; i++) {
            json_t *r = json_array_get(ranks, i);
            const char *hi = json_string_value(json_object_get(r, "host"));
            if (!hi || !host || strcmp(hi, host))
                continue;
            shown[i] = true;
            bool slow = (long long)i == straggler;
            put(&b, "<tr%s><td>%zu%s</td><td>", slow ? " class=\"straggler\"" : "", i,
                slow ? " (straggler)" : "");
            put_escaped(&b, hi);
            put(&b, "</td><td>");
            put_escaped(&b, json_string_value(json_object_get(r, "cpuset")));
            put(&b, "</td><td>");
            put_escaped(&b, json_string_value(json_object_get(r, "binding")));
            put(&b, "</td><td>%.0f</td><td>%.1f</td><td>", num(r, "splits"),
                num(r, "peak_rss_bytes") / 1048576.0);
            put_escaped(&b, json_string_value(json_object_get(r, "status")));
            if (json_object_get(r, "error")) {
                put(&b, ": ");
                put_escaped(&b, json_string_value(json_object_get(r, "error")));
            }
            put(&b, "</td></tr>\n");
        }
    }
    free(shown);

    /* Spill and merge, per rank. */
    put(&b, "</table>\n<h2>Spill and merge</h2>\n<table id=\"spill\"><tr><th>rank</th>"
            "<th>spilled records</th><th>spilled bytes</th><th>spill runs</th>"
            "<th>merge passes</th></tr>\n");
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_object_get(json_array_get(ranks, i), "counters");
        put(&b, "<tr><td>%zu</td><td>", i);
        put_count(&b, count_of(num(c, "spilled_records")));
        put(&b, "</td><td>");
        put_bytes(&b, num(c, "spilled_bytes"));
        put(&b, "</td><td>");
        put_count(&b, count_of(num(c, "spill_runs")));
        put(&b, "</td><td>");
        put_count(&b, count_of(num(c, "merge_passes")));
        put(&b, "</td></tr>\n");
    }
    put(&b, "</table>\n<h2>Counters</h2>\n<table><tr><th>counter</th><th>total</th><th>min"
            "</th><th>max</th><th>mean</th></tr>\n");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(root, "counters"), k, v) {
        put(&b, "<tr><td>");
        put_escaped(&b, k);
        bool bytes = strstr(k, "bytes") != NULL;
        const char *const cols[] = {"total", "min", "max", "mean"};
        put(&b, "</td>");
        for (int c = 0; c < 4; c++) {
            double x = num(v, cols[c]);
            put(&b, "<td title=\"%.0f\">", x);
            if (bytes)
                put_bytes(&b, x);
            else if (c == 3)
                put(&b, "%.1f", x);
            else
                put_count(&b, count_of(x));
            put(&b, "</td>");
        }
        put(&b, "</tr>\n");
    }
    json_object_foreach(json_object_get(root, "user_counters"), k, v) {
        put(&b, "<tr><td>");
        put_escaped(&b, k);
        json_int_t uv = json_integer_value(v);
        put(&b, " (user)</td><td>%s", uv < 0 ? "-" : "");
        put_count(&b, uv < 0 ? 0 - (uint64_t)uv : (uint64_t)uv);
        put(&b, "</td><td></td><td></td><td></td></tr>\n");
    }
    put(&b, "</table>\n");

    /* The configuration and the command line. */
    json_t *cfg = json_object_get(root, "config");
    put(&b, "<h2>Configuration</h2>\n");
    const char *cmd = json_string_value(json_object_get(cfg, "command_line"));
    if (cmd) {
        put(&b, "<pre id=\"command-line\">");
        put_escaped(&b, cmd);
        put(&b, "</pre>\n");
    }
    put(&b, "<table id=\"config\">\n");
    json_object_foreach(cfg, k, v) {
        if (!strcmp(k, "command_line"))
            continue;
        put(&b, "<tr><td>");
        put_escaped(&b, k);
        put(&b, "</td><td style=\"text-align:left\">");
        if (json_is_string(v)) {
            put_escaped(&b, json_string_value(v));
        } else if (json_is_integer(v) && (!strcmp(k, "memory") || !strcmp(k, "split_size"))) {
            put_bytes(&b, (double)json_integer_value(v));
        } else {
            char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            put_escaped(&b, t);
            free(t);
        }
        put(&b, "</td></tr>\n");
    }
    put(&b, "</table>\n</body></html>\n");
    if (sheaf__buf_reserve(&b, 1)) {
        sheaf__buf_free(&b);
        return NULL;
    }
    b.data[b.len] = '\0';
    return (char *)b.data;
}
