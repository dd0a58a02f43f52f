/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A YAML document as a small tree of nodes with their source positions,
 * built from libyaml's event parser. Building it ourselves (rather than
 * with yaml_parser_load()) lets us bound what hostile input can do:
 * nesting depth, the number of nodes, and the size that aliases expand
 * to (the "billion laughs" attack) are all limited, and every node keeps
 * the line and column it started at for error messages. */

#include <stdint.h>

#include "diag.h"

typedef enum YNodeType {
        YNODE_SCALAR,
        YNODE_SEQUENCE,
        YNODE_MAPPING,
        _YNODE_TYPE_MAX,
        _YNODE_TYPE_INVALID = -EINVAL,
} YNodeType;

typedef struct YNode YNode;
struct YNode {
        YNodeType type;
        unsigned line, column;          /* 1-based */
        char *value;                    /* scalars */
        size_t length;
        bool plain;                     /* unquoted scalar: may be a bool/number/null */
        YNode **items;                  /* sequences: items; mappings: key, value, key, value... */
        size_t n_items, n_allocated;
        uint64_t weight;                /* nodes in this subtree with aliases expanded */
        char *anchor;
        bool complete;                  /* an anchor may be aliased only once complete */
};

typedef struct YDocument {
        YNode *root;                    /* NULL for an empty document */
        YNode **all;                    /* every node, for freeing; aliases share nodes */
        size_t n_all, n_all_allocated;
} YDocument;

#define YAML_MAX_DEPTH 32
#define YAML_MAX_NODES 100000
#define YAML_MAX_EXPANDED 100000
#define YAML_MAX_ANCHORS 1000

/* Parses exactly one document. Problems go to d with the file name;
 * returns -EINVAL if any were found (then *ret is untouched), 0 on success. */
int ydocument_parse(const char *file, const char *buf, size_t len, Diagnostics *d, YDocument **ret);
YDocument *ydocument_free(YDocument *doc);
DEFINE_TRIVIAL_CLEANUP_FUNC(YDocument *, ydocument_free);

const char *ynode_type_to_string(YNodeType t);
/* For a mapping: the number of key/value pairs, and the pair at index i. */
static inline size_t ynode_n_pairs(const YNode *n) {
        return n->type == YNODE_MAPPING ? n->n_items / 2 : 0;
}
static inline YNode *ynode_key(const YNode *n, size_t i) {
        return n->items[2 * i];
}
static inline YNode *ynode_value(const YNode *n, size_t i) {
        return n->items[2 * i + 1];
}
/* A plain scalar "~", "null", "Null", "NULL" or an empty plain scalar. */
bool ynode_is_null(const YNode *n);
