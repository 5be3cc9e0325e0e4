/*
 * html.c: _report.html, the job report as a page a person reads at a glance.
 *
 * One self-contained file (inline CSS and SVG, no scripts, nothing fetched): a header with the
 * job's status, time and error; a timeline with one row per rank and one bar per phase
 * (setup, map, shuffle, sort, reduce, commit), on a common time axis, so stragglers and
 * imbalance show as ragged bar ends; bar charts of the bytes each rank mapped and received and
 * its peak memory; and the counters table with per-rank min, max and mean. It is built from
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
        put(&b, "<p class=\"bad\">");
        put_escaped(&b, err);
        put(&b, "</p>\n");
    }
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
        put(&b, "<g class=\"rank\" data-rank=\"%zu\"><text x=\"0\" y=\"%d\" class=\"lbl\">"
                "rank %zu ", i, y + 14, i);
        put_escaped(&b, json_string_value(json_object_get(r, "host")));
        put(&b, "</text>");
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

    put(&b, "<h2>Per rank</h2>\n");
    bars(&b, ranks, "Bytes mapped", NULL, "input_bytes", 1048576.0, "MiB");
    bars(&b, ranks, "Shuffle bytes received", NULL, "shuffle_bytes_received", 1048576.0, "MiB");
    bars(&b, ranks, "Peak memory (RSS)", "peak_rss_bytes", NULL, 1048576.0, "MiB");
    bars(&b, ranks, "Map time", "map_seconds", NULL, 1.0, "s");

    put(&b, "<h2>Ranks</h2>\n<table><tr><th>rank</th><th>host</th><th>CPU set</th>"
            "<th>binding</th><th>splits</th><th>peak RSS (MiB)</th><th>status</th></tr>\n");
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(ranks, i);
        put(&b, "<tr><td>%zu</td><td>", i);
        put_escaped(&b, json_string_value(json_object_get(r, "host")));
        put(&b, "</td><td>");
        put_escaped(&b, json_string_value(json_object_get(r, "cpuset")));
        put(&b, "</td><td>");
        put_escaped(&b, json_string_value(json_object_get(r, "binding")));
        put(&b, "</td><td>%.0f</td><td>%.1f</td><td>", num(r, "splits"),
            num(r, "peak_rss_bytes") / 1048576.0);
        put_escaped(&b, json_string_value(json_object_get(r, "status")));
        put(&b, "</td></tr>\n");
    }
    put(&b, "</table>\n<h2>Counters</h2>\n<table><tr><th>counter</th><th>total</th><th>min"
            "</th><th>max</th><th>mean</th></tr>\n");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(root, "counters"), k, v) {
        put(&b, "<tr><td>");
        put_escaped(&b, k);
        put(&b, "</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.1f</td></tr>\n",
            num(v, "total"), num(v, "min"), num(v, "max"), num(v, "mean"));
    }
    json_object_foreach(json_object_get(root, "user_counters"), k, v) {
        put(&b, "<tr><td>");
        put_escaped(&b, k);
        put(&b, " (user)</td><td>%lld</td><td></td><td></td><td></td></tr>\n",
            (long long)json_integer_value(v));
    }
    put(&b, "</table>\n</body></html>\n");
    if (sheaf__buf_reserve(&b, 1)) {
        sheaf__buf_free(&b);
        return NULL;
    }
    b.data[b.len] = '\0';
    return (char *)b.data;
}
