/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>

#include "plan-fields.h"
#include "string-util.h"

int loader_report(PlanLoader *l, DiagLevel level, const YNode *n, const char *format, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        r = diag_add(l->diag, level, l->file, n ? n->line : 1, n ? n->column : 1, "%s%s", l->ctx, msg);
        if (r < 0)
                return r;
        return level == DIAG_ERROR ? -EINVAL : 0;
}

int loader_report_pos(PlanLoader *l, DiagLevel level, SourcePos pos, const char *format, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        r = diag_add(l->diag, level, l->file, pos.line ?: 1, pos.column ?: 1, "%s%s", l->ctx, msg);
        if (r < 0)
                return r;
        return level == DIAG_ERROR ? -EINVAL : 0;
}

/* Keeps -ENOMEM, which must stop everything, over -EINVAL, which must not. */
int loader_merge(int r, int q) {
        if (r == -ENOMEM || q == -ENOMEM)
                return -ENOMEM;
        return r < 0 ? r : q;
}

const char *ynode_describe(const YNode *n) {
        if (n->type == YNODE_SCALAR && ynode_is_null(n))
                return "nothing";
        return n->type == YNODE_SCALAR ? "a scalar" : n->type == YNODE_SEQUENCE ? "a list" : "a mapping";
}

int loader_unknown_key(PlanLoader *l, const YNode *key, const char *where, const char * const *known) {
        const char *hint = string_closest(key->value, known);

        if (hint)
                return error_at(l, key, "unknown key \"%s\"%s%s (did you mean \"%s\"?)", key->value,
                                where ? " in " : "", strempty(where), hint);
        return error_at(l, key, "unknown key \"%s\"%s%s", key->value, where ? " in " : "", strempty(where));
}

/* Checks a mapping's keys are scalars and unique, before its values are read. */
int loader_check_mapping(PlanLoader *l, const YNode *n, const char *field) {
        int r = 0;

        if (n->type != YNODE_MAPPING)
                return error_at(l, n, "%s: expected a mapping, got %s", field, ynode_describe(n));
        for (size_t i = 0; i < ynode_n_pairs(n); i++) {
                const YNode *k = ynode_key(n, i);
                if (k->type != YNODE_SCALAR) {
                        r = loader_merge(r, error_at(l, k, "%s: keys must be plain names, got %s", field, ynode_describe(k)));
                        continue;
                }
                for (size_t j = 0; j < i; j++) {
                        const YNode *o = ynode_key(n, j);
                        if (o->type == YNODE_SCALAR && streq(o->value, k->value)) {
                                r = loader_merge(r, error_at(l, k, "duplicate key \"%s\" (first at line %u)",
                                                      k->value, o->line));
                                break;
                        }
                }
        }
        return r;
}

int loader_parse_string(PlanLoader *l, const YNode *n, const char *field, char **ret) {
        char *s;

        if (n->type != YNODE_SCALAR || ynode_is_null(n))
                return error_at(l, n, "%s: expected a string, got %s", field, ynode_describe(n));
        if (n->length == 0)
                return error_at(l, n, "%s: must not be empty", field);
        s = strdup(n->value);
        if (!s)
                return -ENOMEM;
        free(*ret);
        *ret = s;
        return 0;
}

int loader_parse_strv(PlanLoader *l, const YNode *n, const char *field, char ***ret) {
        _cleanup_strv_free_ char **v = NULL;
        int r = 0;

        if (n->type != YNODE_SEQUENCE)
                return error_at(l, n, "%s: expected a list, got %s%s", field, ynode_describe(n),
                                n->type == YNODE_SCALAR && !ynode_is_null(n) ? " (write [value] for one item)" : "");
        for (size_t i = 0; i < n->n_items; i++) {
                const YNode *it = n->items[i];
                if (it->type != YNODE_SCALAR || ynode_is_null(it) || it->length == 0) {
                        r = loader_merge(r, error_at(l, it, "%s: item %zu: expected a non-empty string, got %s", field,
                                              i + 1, ynode_describe(it)));
                        continue;
                }
                if (strv_extend(&v, it->value) < 0)
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        strv_free(*ret);
        *ret = TAKE_PTR(v);
        if (!*ret) {
                *ret = calloc(1, sizeof(char *));
                if (!*ret)
                        return -ENOMEM;
        }
        return 0;
}

int loader_parse_duration(PlanLoader *l, const YNode *n, const char *field, usec_t *ret) {
        int r;

        if (n->type != YNODE_SCALAR || ynode_is_null(n))
                return error_at(l, n, "%s: expected a duration such as 90s, 15m, 2h or 1d, got %s", field,
                                ynode_describe(n));
        r = parse_duration(n->value, ret);
        if (r == -ERANGE)
                return error_at(l, n, "%s: duration \"%s\" is out of range", field, n->value);
        if (r < 0) {
                bool bare = n->value[0] && strspn(n->value, "0123456789") == n->length;
                return error_at(l, n, "%s: invalid duration \"%s\"%s", field, n->value,
                                bare ? " (a duration needs a unit: s, m, h or d, e.g. 90s)"
                                     : " (expected e.g. 90s, 15m, 2h, 1d or 1h30m)");
        }
        return 0;
}

int loader_parse_bool(PlanLoader *l, const YNode *n, const char *field, bool *ret) {
        const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "on", NULL };
        const char *const no[] = { "false", "False", "FALSE", "no", "No", "off", NULL };

        if (n->type == YNODE_SCALAR && n->plain) {
                for (size_t i = 0; yes[i]; i++)
                        if (streq(n->value, yes[i])) {
                                *ret = true;
                                return 0;
                        }
                for (size_t i = 0; no[i]; i++)
                        if (streq(n->value, no[i])) {
                                *ret = false;
                                return 0;
                        }
        }
        return error_at(l, n, "%s: expected true or false, got %s%s%s%s", field,
                        n->type == YNODE_SCALAR ? "\"" : "", n->type == YNODE_SCALAR ? n->value : ynode_describe(n),
                        n->type == YNODE_SCALAR ? "\"" : "", "");
}

int loader_parse_uint(PlanLoader *l, const YNode *n, const char *field, uint64_t min, uint64_t max,
                           uint64_t *ret) {
        uint64_t v = 0;

        if (n->type != YNODE_SCALAR || !n->plain || n->length == 0 || n->length > 9 ||
            strspn(n->value, "0123456789") != n->length)
                return error_at(l, n, "%s: expected a whole number, got %s%s%s", field,
                                n->type == YNODE_SCALAR ? "\"" : "",
                                n->type == YNODE_SCALAR ? n->value : ynode_describe(n),
                                n->type == YNODE_SCALAR ? "\"" : "");
        for (size_t i = 0; i < n->length; i++)
                v = v * 10 + (uint64_t) (n->value[i] - '0');
        if (v < min || v > max)
                return error_at(l, n, "%s: %" PRIu64 " is out of range (%" PRIu64 "..%" PRIu64 ")", field, v,
                                min, max);
        *ret = v;
        return 0;
}

int loader_parse_unit(PlanLoader *l, const YNode *n, const char *field, char **ret) {
        int r = loader_parse_string(l, n, field, ret);
        if (r < 0)
                return r;
        if (!unit_name_is_valid(*ret)) {
                bool no_suffix = !strchr(*ret, '.');
                r = error_at(l, n, "%s: \"%s\" is not a valid unit name%s%s%s", field, *ret,
                             no_suffix ? " (did you mean \"" : "", no_suffix ? *ret : "",
                             no_suffix ? ".service\"?)" : "");
                *ret = mfree(*ret);
        }
        return r;
}

int loader_parse_units(PlanLoader *l, const YNode *n, const char *field, char ***ret) {
        int r = loader_parse_strv(l, n, field, ret);
        if (r < 0)
                return r;
        for (size_t i = 0; (*ret)[i]; i++)
                if (!unit_name_is_valid((*ret)[i]))
                        r = loader_merge(r, error_at(l, n->items[i], "%s: \"%s\" is not a valid unit name", field,
                                              (*ret)[i]));
        return r;
}

int loader_parse_path(PlanLoader *l, const YNode *n, const char *field, char **ret) {
        int r = loader_parse_string(l, n, field, ret);
        if (r < 0)
                return r;
        if ((*ret)[0] != '/' || strstr(*ret, "/../") || string_has_suffix(*ret, "/..")) {
                r = error_at(l, n, "%s: \"%s\" is not an absolute, normalized path", field, *ret);
                *ret = mfree(*ret);
        }
        return r;
}

int loader_parse_enum(PlanLoader *l, const YNode *n, const char *field, const char * const *values,
                           char **ret) {
        _cleanup_free_ char *list = NULL;
        const char *hint;
        int r;

        r = loader_parse_string(l, n, field, ret);
        if (r < 0)
                return r;
        if (strv_contains((char * const *) values, *ret))
                return 0;
        list = strv_join((char * const *) values, ", ");
        if (!list)
                return -ENOMEM;
        hint = string_closest(*ret, values);
        r = error_at(l, n, "%s: unknown value \"%s\" (expected one of: %s)%s%s%s", field, *ret, list,
                     hint ? " (did you mean \"" : "", strempty(hint), hint ? "\"?)" : "");
        *ret = mfree(*ret);
        return r;
}

bool device_name_is_valid(const char *s) {
        const char *const prefixes[] = { "/dev/", "UUID=", "LABEL=", "PARTUUID=", "PARTLABEL=" };
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (string_has_prefix(s, prefixes[i]) && s[strlen(prefixes[i])] != 0)
                        return true;
        return false;
}

bool md_array_name_is_valid(const char *s) {
        if (string_has_prefix(s, "/dev/"))
                s += 5;
        if (string_has_prefix(s, "md/"))
                return s[3] != 0 && !strchr(s + 3, '/');
        if (!string_has_prefix(s, "md") || !s[2])
                return false;
        return strspn(s + 2, "0123456789") == strlen(s + 2) || s[2] == '_';
}

