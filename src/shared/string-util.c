/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "string-util.h"

size_t string_distance(const char *a, const char *b, size_t max) {
        size_t la = strlen(a), lb = strlen(b);
        size_t rows[3][65], *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

        /* Optimal string alignment: edits plus swaps of neighbours, the
         * commonest typo ("stpes"). Identifiers in plans are short; long
         * ones are never "close". */
        if (la > 64 || lb > 64)
                return max + 1;
        if ((la > lb ? la - lb : lb - la) > max)
                return max + 1;

        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t *t;

                cur[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t v = prev[j - 1] + (a[i - 1] != b[j - 1]);
                        v = MIN(v, prev[j] + 1);
                        v = MIN(v, cur[j - 1] + 1);
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                                v = MIN(v, prev2[j - 2] + 1);
                        cur[j] = v;
                }
                t = prev2;
                prev2 = prev;
                prev = cur;
                cur = t;
        }
        return MIN(prev[lb], max + 1);
}

const char *string_closest(const char *word, const char * const *candidates) {
        size_t max = strlen(word) <= 3 ? 1 : strlen(word) <= 6 ? 2 : 3;
        const char *best = NULL;
        size_t best_d = max + 1;

        for (const char * const *c = candidates; c && *c; c++) {
                size_t d = string_distance(word, *c, max);
                if (d < best_d) {
                        best_d = d;
                        best = *c;
                }
        }
        return best;
}

bool string_has_prefix(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool string_has_suffix(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

ssize_t utf8_first_invalid(const char *buf, size_t len, bool *ret_is_nul) {
        const unsigned char *p = (const unsigned char *) buf;

        for (size_t i = 0; i < len;) {
                unsigned char c = p[i];
                size_t n;
                uint32_t cp;

                if (c == 0) {
                        *ret_is_nul = true;
                        return (ssize_t) i;
                }
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if ((c & 0xE0) == 0xC0) {
                        n = 2;
                        cp = c & 0x1F;
                } else if ((c & 0xF0) == 0xE0) {
                        n = 3;
                        cp = c & 0x0F;
                } else if ((c & 0xF8) == 0xF0) {
                        n = 4;
                        cp = c & 0x07;
                } else
                        goto bad;
                if (i + n > len)
                        goto bad;
                for (size_t k = 1; k < n; k++) {
                        if ((p[i + k] & 0xC0) != 0x80)
                                goto bad;
                        cp = (cp << 6) | (p[i + k] & 0x3F);
                }
                /* Overlong forms, surrogates and values past Unicode. */
                if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
                    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
                        goto bad;
                i += n;
                continue;
        bad:
                *ret_is_nul = false;
                return (ssize_t) i;
        }
        return -1;
}

void offset_to_line_column(const char *buf, size_t offset, unsigned *ret_line, unsigned *ret_column) {
        unsigned line = 1, column = 1;

        for (size_t i = 0; i < offset; i++) {
                if (buf[i] == '\n') {
                        line++;
                        column = 1;
                } else if (((unsigned char) buf[i] & 0xC0) != 0x80)
                        column++;
        }
        *ret_line = line;
        *ret_column = column;
}

int parse_size(const char *s, uint64_t *ret) {
        static const char suffixes[] = "KMGTPE";
        unsigned long long v;
        const char *p;
        char *end;
        unsigned shift = 0;

        if (!s || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end && (p = strchr(suffixes, *end)) && *end) {
                shift = 10 * (unsigned) (p - suffixes + 1);
                end++;
                if (*end == 'i' && end[1] == 'B')
                        end += 2;
                else if (*end == 'B')
                        end++;
        } else if (*end == 'B')
                end++;
        if (*end)
                return -EINVAL;
        if (shift > 0 && v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = (uint64_t) v << shift;
        return 0;
}
