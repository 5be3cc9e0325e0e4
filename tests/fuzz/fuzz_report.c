/*
 * fuzz_report.c: libFuzzer target for the HTML report writer. The input is a JSON document,
 * loaded with jansson as the job report would be, and handed to sheaf__report_html(), which
 * must cope with any shape (missing keys, wrong types, huge or negative numbers, long or odd
 * strings) without crashing or undefined behaviour. Invariant: whatever it returns is one
 * NUL-terminated page that starts like HTML, and no '<' or '&' from a string in the document
 * reaches it unescaped (checked with a marker string, see below).
 */
#include "internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "fuzz_report: check failed at line %d: %s\n", __LINE__, #cond);    \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root)
        return 0;
    char *html = sheaf__report_html(root);
    if (html) {
        CHECK(strncmp(html, "<!DOCTYPE html>", 15) == 0 || strncmp(html, "<html", 5) == 0);
        /* A raw tag from the document must never appear in the page. */
        CHECK(strstr(html, "<fuzz-marker") == NULL);
        free(html);
    }
    json_decref(root);
    return 0;
}
