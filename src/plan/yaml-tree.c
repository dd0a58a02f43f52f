/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <yaml.h>

#include "yaml-tree.h"

typedef struct Builder {
        const char *file;
        Diagnostics *diag;
        YDocument *doc;
        YNode *stack[YAML_MAX_DEPTH + 1];
        YNode *anchors[YAML_MAX_ANCHORS];
        size_t n_anchors;
        size_t depth;
        bool failed;
} Builder;

static const char *const ynode_type_table[_YNODE_TYPE_MAX] = {
        [YNODE_SCALAR] = "scalar",
        [YNODE_SEQUENCE] = "list",
        [YNODE_MAPPING] = "mapping",
};

const char *ynode_type_to_string(YNodeType t) {
        return t >= 0 && t < _YNODE_TYPE_MAX ? ynode_type_table[t] : NULL;
}

bool ynode_is_null(const YNode *n) {
        if (n->type != YNODE_SCALAR || !n->plain)
                return false;
        return n->length == 0 || streq(n->value, "~") || streq(n->value, "null") ||
               streq(n->value, "Null") || streq(n->value, "NULL");
}

static void ynode_free(YNode *n) {
        if (!n)
                return;
        free(n->value);
        free(n->items);
        free(n->anchor);
        free(n);
}

YDocument *ydocument_free(YDocument *doc) {
        if (!doc)
                return NULL;
        for (size_t i = 0; i < doc->n_all; i++)
                ynode_free(doc->all[i]);
        free(doc->all);
        free(doc);
        return NULL;
}

/* Records a problem and returns the error that stops the build. */
static int builder_error(Builder *b, const yaml_mark_t *m, int error, const char *fmt, ...) _printf_(4, 5);
static int builder_error(Builder *b, const yaml_mark_t *m, int error, const char *fmt, ...) {
        va_list ap;
        int r;

        b->failed = true;
        va_start(ap, fmt);
        r = diag_addv(b->diag, DIAG_ERROR, b->file, (unsigned) m->line + 1, (unsigned) m->column + 1, fmt, ap);
        va_end(ap);
        return r < 0 ? r : error;
}

/* Makes room for one more pointer, doubling the allocation. */
static int grow(YNode ***array, size_t n, size_t *allocated) {
        YNode **a;
        size_t m;

        if (n < *allocated)
                return 0;
        m = MAX(*allocated * 2, 8u);
        a = realloc(*array, sizeof(YNode *) * m);
        if (!a)
                return -ENOMEM;
        *array = a;
        *allocated = m;
        return 0;
}

static YNode *builder_find_anchor(Builder *b, const char *anchor) {
        /* Latest definition wins, as YAML says an anchor may be redefined. */
        for (size_t i = b->n_anchors; i > 0; i--) {
                YNode *n = b->anchors[i - 1];
                if (n->complete && streq(n->anchor, anchor))
                        return n;
        }
        return NULL;
}

/* Attaches n (new or an alias target) to the open collection, if any. */
static int builder_attach(Builder *b, YNode *n, const yaml_mark_t *m) {
        YNode *parent;
        uint64_t total;

        if (b->depth == 0) {
                b->doc->root = n;
                return 0;
        }
        parent = b->stack[b->depth - 1];
        if (grow(&parent->items, parent->n_items, &parent->n_allocated) < 0)
                return -ENOMEM;
        parent->items[parent->n_items++] = n;

        /* Weight is the size of the tree with aliases expanded; the root's
         * weight grows with every attach, so bounding it bounds the work any
         * later walk of the tree can do. */
        for (size_t i = 0; i < b->depth; i++)
                b->stack[i]->weight += n->weight;
        total = b->stack[0]->weight;
        if (total > YAML_MAX_EXPANDED)
                return builder_error(b, m, -E2BIG, "document too large: aliases expand to more than %s nodes",
                                     "100000");
        return 0;
}

static YNode *builder_new(Builder *b, YNodeType type, const yaml_event_t *e, const yaml_char_t *anchor) {
        YNode *n;

        if (b->doc->n_all >= YAML_MAX_NODES) {
                (void) builder_error(b, &e->start_mark, -E2BIG, "document too large: more than %s nodes",
                                     "100000");
                return NULL;
        }
        if (grow(&b->doc->all, b->doc->n_all, &b->doc->n_all_allocated) < 0)
                return NULL;
        n = calloc(1, sizeof(YNode));
        if (!n)
                return NULL;
        b->doc->all[b->doc->n_all++] = n;
        n->type = type;
        n->line = (unsigned) e->start_mark.line + 1;
        n->column = (unsigned) e->start_mark.column + 1;
        n->weight = 1;
        if (anchor) {
                if (b->n_anchors >= YAML_MAX_ANCHORS) {
                        (void) builder_error(b, &e->start_mark, -E2BIG, "more than %s anchors", "1000");
                        return NULL;
                }
                n->anchor = strdup((const char *) anchor);
                if (!n->anchor)
                        return NULL;
                b->anchors[b->n_anchors++] = n;
        }
        return n;
}

static int builder_event(Builder *b, yaml_event_t *e) {
        YNode *n;
        int r;

        switch (e->type) {

        case YAML_SCALAR_EVENT:
                n = builder_new(b, YNODE_SCALAR, e, e->data.scalar.anchor);
                if (!n)
                        return b->failed ? -E2BIG : -ENOMEM;
                n->value = strndup((const char *) e->data.scalar.value, e->data.scalar.length);
                if (!n->value)
                        return -ENOMEM;
                n->length = e->data.scalar.length;
                n->plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                n->complete = true;
                return builder_attach(b, n, &e->start_mark);

        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
                if (b->depth >= YAML_MAX_DEPTH)
                        return builder_error(b, &e->start_mark, -E2BIG, "nesting deeper than %s levels", "32");
                n = builder_new(b, e->type == YAML_SEQUENCE_START_EVENT ? YNODE_SEQUENCE : YNODE_MAPPING, e,
                                e->type == YAML_SEQUENCE_START_EVENT ? e->data.sequence_start.anchor
                                                                     : e->data.mapping_start.anchor);
                if (!n)
                        return b->failed ? -E2BIG : -ENOMEM;
                r = builder_attach(b, n, &e->start_mark);
                if (r < 0)
                        return r;
                b->stack[b->depth++] = n;
                return 0;

        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
                /* An anchor becomes usable only once its node is complete, so an
                 * alias can never point at its own ancestor (no cycles). */
                b->stack[--b->depth]->complete = true;
                return 0;

        case YAML_ALIAS_EVENT:
                n = builder_find_anchor(b, (const char *) e->data.alias.anchor);
                if (!n)
                        return builder_error(b, &e->start_mark, -ENOENT, "unknown alias \"*%s\"",
                                             (const char *) e->data.alias.anchor);
                return builder_attach(b, n, &e->start_mark);

        default:
                return 0;
        }
}

int ydocument_parse(const char *file, const char *buf, size_t len, Diagnostics *d, YDocument **ret) {
        _cleanup_(ydocument_freep) YDocument *doc = NULL;
        yaml_parser_t parser;
        Builder b = { .file = file, .diag = d };
        unsigned n_docs = 0;
        int r = 0;

        doc = calloc(1, sizeof(YDocument));
        if (!doc)
                return -ENOMEM;
        b.doc = doc;

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) buf, len);
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

        for (;;) {
                yaml_event_t e;

                if (!yaml_parser_parse(&parser, &e)) {
                        const yaml_mark_t *m = parser.problem_mark.line || parser.problem_mark.column
                                                       ? &parser.problem_mark : &parser.context_mark;
                        r = diag_add(d, DIAG_ERROR, file, (unsigned) m->line + 1, (unsigned) m->column + 1,
                                     "YAML syntax error: %s%s%s", parser.problem ?: "unknown problem",
                                     parser.context ? " " : "", parser.context ?: "");
                        r = r < 0 ? r : -EINVAL;
                        break;
                }
                if (e.type == YAML_DOCUMENT_START_EVENT && ++n_docs > 1) {
                        r = diag_add(d, DIAG_ERROR, file, (unsigned) e.start_mark.line + 1,
                                     (unsigned) e.start_mark.column + 1,
                                     "a plan file holds exactly one document; found a second one");
                        yaml_event_delete(&e);
                        r = r < 0 ? r : -EINVAL;
                        break;
                }
                r = builder_event(&b, &e);
                if (e.type == YAML_STREAM_END_EVENT) {
                        yaml_event_delete(&e);
                        break;
                }
                yaml_event_delete(&e);
                if (r < 0)
                        break;
        }
        yaml_parser_delete(&parser);

        if (r == -ENOMEM)
                return r;
        if (r < 0 || b.failed)
                return -EINVAL;
        *ret = TAKE_PTR(doc);
        return 0;
}
