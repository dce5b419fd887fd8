/*
 * ciyu._tparse: the compiled twins of template mining's costliest questions, the Python code
 * being the reference that this file follows step by step:
 *
 * - Parser: the parse passes' "which template applications make the best parse of this
 *   sentence" (ciyu.template.evidence.EvidencePass: TemplateTrie.matches, then
 *   best_cover(..., tree=False));
 * - pair_counts: pass 2's "the pair slots of this chunk, counted"
 *   (ciyu.template.pairs.PairPass.map);
 * - merge_counts: pass 2's merge of two pair tables (ciyu.template.pairs._merge_sorted);
 * - template_counts: pass 3's "the template counts of this chunk"
 *   (ciyu.template.mining.TemplatePass: occurrences() in every sentence, each counted by
 *   TemplateCounts.add), at the end of this file.
 *
 * The trie comes flattened (ciyu.template.parser.FlatTrie): nodes are numbered in the
 * order the Python trie made them (a child after its parent), words are small ints. Per
 * node: its adjacent and gapped children (word, child) in the insertion order of the
 * Python dicts, its plain and trailing templates, and whether its items hold a slot. A
 * child is looked up by (node, kind, word) in one open-addressing hash table.
 *
 * Order matters: best_cover breaks ties by the order of the matches, so the walk visits
 * starts, children and positions exactly as TemplateTrie.matches does (including its two
 * ways of finding gapped children: by the child's word when the node has few children, by
 * the window's words when it has many), and best_cover's sums are made in the same order
 * with the same strict comparison, so both return the same applications in the same order.
 *
 * Threads: a Parser never changes after construction; the work of a call runs without
 * the GIL on private buffers, and only the result objects are made with it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* deepest trie accepted: the walk recurses once per fixed word of a template (the
 * module's MAX_DEPTH; a deeper trie is parsed by the Python reference) */
#define MAX_DEPTH 4096

/* malloc(count * size), or NULL when the product overflows (or memory is short). */
static void *alloc_array(Py_ssize_t count, size_t size) {
    if (count < 0 || (count > 0 && (size_t)count > SIZE_MAX / size)) return NULL;
    return malloc(count > 0 ? (size_t)count * size : 1);
}

/* ---- growable arrays -------------------------------------------------------------- */

typedef struct {
    int32_t *v;
    Py_ssize_t len, cap;
} IVec;

typedef struct {
    double *v;
    Py_ssize_t len, cap;
} DVec;

/* Room for extra more values; -1 when memory is short (no Python error: the GIL may be
 * released). */
static int ivec_reserve(IVec *a, Py_ssize_t extra) {
    if (a->len + extra <= a->cap) return 0;
    Py_ssize_t cap = a->cap ? a->cap : 64;
    while (cap < a->len + extra) {
        if (cap > PY_SSIZE_T_MAX / 2 / (Py_ssize_t)sizeof(int32_t)) return -1;
        cap *= 2;
    }
    int32_t *v = realloc(a->v, (size_t)cap * sizeof(int32_t));
    if (!v) return -1;
    a->v = v;
    a->cap = cap;
    return 0;
}

static inline int ivec_push(IVec *a, int32_t x) {
    if (a->len == a->cap && ivec_reserve(a, 1) < 0) return -1;
    a->v[a->len++] = x;
    return 0;
}

static int dvec_push(DVec *a, double x) {
    if (a->len == a->cap) {
        Py_ssize_t cap = a->cap ? a->cap * 2 : 64;
        if (cap > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(double)) return -1;
        double *v = realloc(a->v, (size_t)cap * sizeof(double));
        if (!v) return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->len++] = x;
    return 0;
}

/* ---- the flattened trie ----------------------------------------------------------- */

typedef struct {
    uint64_t key; /* edge_key(node, kind, word); 0 marks a free slot */
    int32_t child;
} Edge;

typedef struct {
    PyObject_HEAD
    int32_t n_nodes, n_words, n_templates;
    int64_t max_distance;
    int32_t punct, opener, closer; /* the class bits (ciyu.template.sentences) */
    /* per node, as offsets into the value arrays (n_nodes + 1 each) */
    int32_t *adj_off, *adj_word, *adj_child;
    int32_t *gap_off, *gap_word, *gap_child;
    int32_t *plain_off, *plain_tpl;
    int32_t *trail_off, *trail_tpl;
    uint8_t *gapped;
    /* per word: the trivial templates (<X> w <X>) */
    int32_t *triv_off, *triv_tpl;
    double *gains;
    Edge *table;
    uint64_t mask;
} Parser;

static uint64_t hash64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* kind: 1 for an adjacent step, 0 for a gapped one */
static inline uint64_t edge_key(int32_t node, int kind, int32_t word) {
    return ((((uint64_t)node << 1) | (uint64_t)kind) << 32 | (uint32_t)word) + 1;
}

static inline int32_t find_child(const Parser *p, int32_t node, int kind, int32_t word) {
    uint64_t key = edge_key(node, kind, word);
    uint64_t i = hash64(key) & p->mask;
    for (;;) {
        const Edge *e = &p->table[i];
        if (e->key == key) return e->child;
        if (e->key == 0) return -1;
        i = (i + 1) & p->mask;
    }
}

static void Parser_dealloc(Parser *self) {
    int32_t **arrays[] = {&self->adj_off,   &self->adj_word,  &self->adj_child,
                          &self->gap_off,   &self->gap_word,  &self->gap_child,
                          &self->plain_off, &self->plain_tpl, &self->trail_off,
                          &self->trail_tpl, &self->triv_off,  &self->triv_tpl};
    for (size_t k = 0; k < sizeof(arrays) / sizeof(arrays[0]); k++) free(*arrays[k]);
    free(self->gapped);
    free(self->gains);
    free(self->table);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int invalid(const char *what) {
    PyErr_Format(PyExc_ValueError, "Parser: %s (the arrays come from ciyu.template.parser.FlatTrie)",
                 what);
    return -1;
}

/* A copy of a buffer of int32 values into *out; its length into *count. */
static int take_int32(PyObject *obj, int32_t **out, Py_ssize_t *count) {
    Py_buffer b;
    if (PyObject_GetBuffer(obj, &b, PyBUF_C_CONTIGUOUS) < 0) return -1;
    if (b.len % (Py_ssize_t)sizeof(int32_t)) {
        PyBuffer_Release(&b);
        return invalid("an int32 array has a partial item");
    }
    *count = b.len / (Py_ssize_t)sizeof(int32_t);
    *out = alloc_array(*count, sizeof(int32_t));
    if (!*out) {
        PyBuffer_Release(&b);
        PyErr_NoMemory();
        return -1;
    }
    memcpy(*out, b.buf, (size_t)b.len);
    PyBuffer_Release(&b);
    return 0;
}

/* Offsets: rows + 1 of them, from 0, never decreasing. */
static int take_offsets(PyObject *obj, Py_ssize_t rows, int32_t **off, const char *what) {
    Py_ssize_t n;
    if (take_int32(obj, off, &n) < 0) return -1;
    if (n != rows + 1 || (*off)[0] != 0) return invalid(what);
    for (Py_ssize_t i = 0; i < rows; i++)
        if ((*off)[i + 1] < (*off)[i]) return invalid(what);
    return 0;
}

/* Values: as many as the offsets' last, each in [0, bound). */
static int take_values(PyObject *obj, const int32_t *off, Py_ssize_t rows, int32_t bound,
                       int32_t **val, const char *what) {
    Py_ssize_t n;
    if (take_int32(obj, val, &n) < 0) return -1;
    if (n != off[rows]) return invalid(what);
    for (Py_ssize_t i = 0; i < n; i++)
        if ((*val)[i] < 0 || (*val)[i] >= bound) return invalid(what);
    return 0;
}

/* Every child after its parent (so that the trie has no cycle), at most MAX_DEPTH deep,
 * and no node with two children by the same step. */
static int build_table(Parser *p) {
    Py_ssize_t n_edges = (Py_ssize_t)p->adj_off[p->n_nodes] + p->gap_off[p->n_nodes];
    uint64_t cap = 16;
    while (cap < (uint64_t)n_edges * 2 + 2) cap *= 2;
    p->table = calloc(cap, sizeof(Edge));
    int32_t *depth = calloc((size_t)p->n_nodes, sizeof(int32_t));
    if (!p->table || !depth) {
        free(depth);
        PyErr_NoMemory();
        return -1;
    }
    p->mask = cap - 1;
    for (int32_t node = 0; node < p->n_nodes; node++) {
        for (int kind = 0; kind < 2; kind++) {
            const int32_t *off = kind ? p->adj_off : p->gap_off;
            const int32_t *word = kind ? p->adj_word : p->gap_word;
            const int32_t *child = kind ? p->adj_child : p->gap_child;
            for (int32_t e = off[node]; e < off[node + 1]; e++) {
                if (child[e] <= node || depth[node] >= MAX_DEPTH) {
                    free(depth);
                    return invalid("a child before its parent, or too deep a trie");
                }
                depth[child[e]] = depth[node] + 1;
                uint64_t key = edge_key(node, kind, word[e]);
                uint64_t i = hash64(key) & p->mask;
                while (p->table[i].key != 0) {
                    if (p->table[i].key == key) {
                        free(depth);
                        return invalid("two children by the same step");
                    }
                    i = (i + 1) & p->mask;
                }
                p->table[i].key = key;
                p->table[i].child = child[e];
            }
        }
    }
    free(depth);
    return 0;
}

/* Parser(n_words, adj_off, adj_word, adj_child, gap_off, gap_word, gap_child, plain_off,
 *        plain_tpl, trail_off, trail_tpl, gapped, triv_off, triv_tpl, gains, max_distance,
 *        punct, opener, closer)
 * The int arrays are int32 buffers, gapped one byte per node, gains float64 (one per
 * template, finite). Everything is copied and checked; a Parser never changes. */
static PyObject *Parser_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    int n_words;
    PyObject *o[14];
    long long max_distance;
    int punct, opener, closer;
    if (kwds && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "Parser() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "iOOOOOOOOOOOOOOLiii", &n_words, &o[0], &o[1], &o[2], &o[3],
                          &o[4], &o[5], &o[6], &o[7], &o[8], &o[9], &o[10], &o[11], &o[12],
                          &o[13], &max_distance, &punct, &opener, &closer))
        return NULL;
    Parser *self = (Parser *)type->tp_alloc(type, 0);
    if (!self) return NULL;
    if (n_words < 0) goto bad_shape;
    self->n_words = n_words;
    self->max_distance = max_distance;
    self->punct = punct;
    self->opener = opener;
    self->closer = closer;
    /* gains first: they give the number of templates */
    Py_buffer b;
    if (PyObject_GetBuffer(o[13], &b, PyBUF_C_CONTIGUOUS) < 0) goto fail;
    if (b.len % (Py_ssize_t)sizeof(double) || b.len / (Py_ssize_t)sizeof(double) > INT32_MAX) {
        PyBuffer_Release(&b);
        goto bad_shape;
    }
    self->n_templates = (int32_t)(b.len / (Py_ssize_t)sizeof(double));
    self->gains = alloc_array(self->n_templates, sizeof(double));
    if (!self->gains) {
        PyBuffer_Release(&b);
        PyErr_NoMemory();
        goto fail;
    }
    memcpy(self->gains, b.buf, (size_t)b.len);
    PyBuffer_Release(&b);
    for (int32_t t = 0; t < self->n_templates; t++)
        if (!isfinite(self->gains[t])) {
            invalid("every gain must be a finite number");
            goto fail;
        }
    /* gapped gives the number of nodes */
    if (PyObject_GetBuffer(o[10], &b, PyBUF_C_CONTIGUOUS) < 0) goto fail;
    if (b.len < 1 || b.len >= INT32_MAX / 2) {
        PyBuffer_Release(&b);
        goto bad_shape;
    }
    self->n_nodes = (int32_t)b.len;
    self->gapped = alloc_array(b.len, 1);
    if (!self->gapped) {
        PyBuffer_Release(&b);
        PyErr_NoMemory();
        goto fail;
    }
    memcpy(self->gapped, b.buf, (size_t)b.len);
    PyBuffer_Release(&b);
    Py_ssize_t rows = self->n_nodes;
    const char *adj = "adjacent children", *gap = "gapped children";
    if (take_offsets(o[0], rows, &self->adj_off, adj) < 0 ||
        take_values(o[1], self->adj_off, rows, self->n_words, &self->adj_word, adj) < 0 ||
        take_values(o[2], self->adj_off, rows, self->n_nodes, &self->adj_child, adj) < 0 ||
        take_offsets(o[3], rows, &self->gap_off, gap) < 0 ||
        take_values(o[4], self->gap_off, rows, self->n_words, &self->gap_word, gap) < 0 ||
        take_values(o[5], self->gap_off, rows, self->n_nodes, &self->gap_child, gap) < 0 ||
        take_offsets(o[6], rows, &self->plain_off, "plain templates") < 0 ||
        take_values(o[7], self->plain_off, rows, self->n_templates, &self->plain_tpl,
                    "plain templates") < 0 ||
        take_offsets(o[8], rows, &self->trail_off, "trailing templates") < 0 ||
        take_values(o[9], self->trail_off, rows, self->n_templates, &self->trail_tpl,
                    "trailing templates") < 0 ||
        take_offsets(o[11], n_words, &self->triv_off, "trivial templates") < 0 ||
        take_values(o[12], self->triv_off, n_words, self->n_templates, &self->triv_tpl,
                    "trivial templates") < 0)
        goto fail;
    if (build_table(self) < 0) goto fail;
    return (PyObject *)self;
bad_shape:
    invalid("arrays of the wrong shape");
fail:
    Py_DECREF(self);
    return NULL;
}

/* ---- one call's work -------------------------------------------------------------- */

typedef struct {
    /* the sentence: ids (-1 for a word no template holds), classes, clauses, clause_end */
    const int32_t *ids, *classes, *clauses, *clause_end;
    int32_t n;
    /* per position: the end of the window a template starting there may hold
     * (TemplateTrie.matches), and the next position with the same word */
    IVec window, next_same;
    int32_t *first_pos; /* per word: its first position in the sentence, or -1 */
    IVec slot_stack;    /* the slots (start, end) along the walk's path */
    /* the matches, in the order TemplateTrie.matches makes them */
    IVec m_tpl, m_start, m_end, m_nfixed, m_slot_off, m_nslots;
    DVec m_gain;
    IVec m_slots; /* (start, end) pairs */
    /* best_cover */
    IVec need, row_off, end_off, end_list, have, tasks, found;
    DVec score, value;
    IVec fixed, back, value_fixed;
    /* the result: per application, its sentence, template and slots */
    IVec out_sent, out_tpl, out_slot_off, out_nslots, out_slots;
    int failed; /* memory ran short */
} Work;

static void work_free(Work *w) {
    IVec *ivecs[] = {&w->window,   &w->next_same,  &w->slot_stack,   &w->m_tpl,
                     &w->m_start,  &w->m_end,      &w->m_nfixed,     &w->m_slot_off,
                     &w->m_nslots, &w->m_slots,    &w->need,         &w->row_off,
                     &w->end_off,  &w->end_list,   &w->have,         &w->tasks,
                     &w->found,    &w->fixed,      &w->back,         &w->value_fixed,
                     &w->out_sent, &w->out_tpl,    &w->out_slot_off, &w->out_nslots,
                     &w->out_slots};
    for (size_t k = 0; k < sizeof(ivecs) / sizeof(ivecs[0]); k++) free(ivecs[k]->v);
    free(w->m_gain.v);
    free(w->score.v);
    free(w->value.v);
    free(w->first_pos);
}

/* Size a as n values (contents undefined); -1 when memory is short. */
static int ivec_resize(IVec *a, Py_ssize_t n) {
    a->len = 0;
    if (ivec_reserve(a, n) < 0) return -1;
    a->len = n;
    return 0;
}

static int dvec_resize(DVec *a, Py_ssize_t n) {
    if (n > a->cap) {
        if (n > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(double)) return -1;
        double *v = realloc(a->v, (size_t)n * sizeof(double));
        if (!v) return -1;
        a->v = v;
        a->cap = n;
    }
    a->len = n;
    return 0;
}

static void add_match(const Parser *p, Work *w, int32_t tpl, int32_t start, int32_t end,
                      int32_t nfixed, int32_t nslots, int32_t extra_s, int32_t extra_e) {
    /* nslots from the slot stack, then (extra_s, extra_e) if extra_s >= 0 */
    int32_t total = nslots + (extra_s >= 0);
    if (ivec_push(&w->m_tpl, tpl) < 0 || ivec_push(&w->m_start, start) < 0 ||
        ivec_push(&w->m_end, end) < 0 || ivec_push(&w->m_nfixed, nfixed) < 0 ||
        ivec_push(&w->m_slot_off, (int32_t)w->m_slots.len) < 0 ||
        ivec_push(&w->m_nslots, total) < 0 || dvec_push(&w->m_gain, p->gains[tpl]) < 0 ||
        ivec_reserve(&w->m_slots, 2 * (Py_ssize_t)total) < 0) {
        w->failed = 1;
        return;
    }
    if (nslots > 0) {
        memcpy(w->m_slots.v + w->m_slots.len, w->slot_stack.v,
               2 * (size_t)nslots * sizeof(int32_t));
        w->m_slots.len += 2 * nslots;
    }
    if (extra_s >= 0) {
        w->m_slots.v[w->m_slots.len++] = extra_s;
        w->m_slots.v[w->m_slots.len++] = extra_e;
    }
}

/* _Walk.walk: the matches of node and its descendants along a path of depth + 1 fixed
 * words from first to last, with nslots slots on the slot stack. */
static void walk(const Parser *p, Work *w, int32_t node, int32_t first, int32_t last,
                 int32_t depth, int32_t nslots) {
    if (w->failed) return;
    const int32_t p0 = p->plain_off[node], p1 = p->plain_off[node + 1];
    const int32_t t0 = p->trail_off[node], t1 = p->trail_off[node + 1];
    if (p0 < p1 || t0 < t1) {
        const int32_t begin = w->classes[first], finish = w->classes[last];
        if (!((begin & p->punct) && !(begin & p->opener)) &&
            !((finish & p->punct) && !(finish & p->closer))) {
            const int32_t clause_end = w->clause_end[last];
            const int trailing = w->clauses[last] > w->clauses[first] && clause_end > last + 1;
            if (trailing) {
                for (int32_t k = t0; k < t1; k++)
                    add_match(p, w, p->trail_tpl[k], first, clause_end, depth + 1, nslots,
                              last + 1, clause_end);
            } else if (p->gapped[node] && p0 < p1) {
                for (int32_t k = p0; k < p1; k++)
                    add_match(p, w, p->plain_tpl[k], first, last + 1, depth + 1, nslots, -1, -1);
            }
        }
    }
    const int32_t a0 = p->adj_off[node], a1 = p->adj_off[node + 1];
    const int32_t g0 = p->gap_off[node], g1 = p->gap_off[node + 1];
    if (a0 == a1 && g0 == g1) return;
    const int32_t window = w->window.v[first];
    if (a0 < a1 && last + 1 < window) {
        const int32_t id = w->ids[last + 1];
        const int32_t child = id >= 0 ? find_child(p, node, 1, id) : -1;
        if (child >= 0) walk(p, w, child, first, last + 1, depth + 1, nslots);
    }
    if (g0 == g1) return;
    /* room for this step's slot */
    if (ivec_reserve(&w->slot_stack, 2 * (Py_ssize_t)nslots + 2) < 0) { /* its len stays 0 */
        w->failed = 1;
        return;
    }
    int32_t *slot = w->slot_stack.v + 2 * (Py_ssize_t)nslots;
    int64_t reach = first + p->max_distance + 1;
    if (reach > w->n) reach = w->n;
    if ((int64_t)(a1 - a0) + (g1 - g0) <= reach - last) {
        /* few children: look each one's word up in the sentence */
        for (int32_t e = g0; e < g1; e++) {
            const int32_t child = p->gap_child[e];
            for (int32_t nxt = w->first_pos[p->gap_word[e]]; nxt >= 0; nxt = w->next_same.v[nxt]) {
                if (nxt <= last + 1) continue;
                if (nxt >= window) break;
                slot = w->slot_stack.v + 2 * (Py_ssize_t)nslots; /* the stack may move */
                slot[0] = last + 1;
                slot[1] = nxt;
                walk(p, w, child, first, nxt, depth + 1, nslots + 1);
            }
        }
        return;
    }
    /* many children: look each word of the window up among them */
    for (int32_t nxt = last + 2; nxt < window; nxt++) {
        const int32_t id = w->ids[nxt];
        if (id < 0) continue;
        const int32_t child = find_child(p, node, 0, id);
        if (child < 0) continue;
        slot = w->slot_stack.v + 2 * (Py_ssize_t)nslots;
        slot[0] = last + 1;
        slot[1] = nxt;
        walk(p, w, child, first, nxt, depth + 1, nslots + 1);
    }
}

/* TemplateTrie.matches: every match of the sentence in w, in the reference's order. */
static void sentence_matches(const Parser *p, Work *w) {
    const int32_t n = w->n;
    w->m_tpl.len = w->m_start.len = w->m_end.len = w->m_nfixed.len = 0;
    w->m_slot_off.len = w->m_nslots.len = w->m_slots.len = w->m_gain.len = 0;
    if (ivec_resize(&w->next_same, n) < 0 || ivec_resize(&w->window, n) < 0 ||
        ivec_reserve(&w->slot_stack, 2) < 0) {
        w->failed = 1;
        return;
    }
    /* where: each word's positions, ascending, as a chain through next_same */
    for (int32_t i = n - 1; i >= 0; i--) {
        const int32_t id = w->ids[i];
        if (id >= 0) {
            w->next_same.v[i] = w->first_pos[id];
            w->first_pos[id] = i;
        } else {
            w->next_same.v[i] = -1;
        }
    }
    /* window[first]: the end of the words a template starting at first may hold */
    int32_t end = 0;
    for (int32_t first = 0; first < n; first++) {
        const int64_t last_clause = (int64_t)w->clauses[first] + 1;
        if (end < first) end = first;
        while (end < n && end - first <= p->max_distance && w->clauses[end] <= last_clause) end++;
        w->window.v[first] = end;
    }
    for (int32_t start = 0; start < n && !w->failed; start++) {
        const int32_t id = w->ids[start];
        if (id < 0) continue;
        const int32_t node = find_child(p, 0, 0, id);
        if (node >= 0) walk(p, w, node, start, start, 0, 0);
        const int32_t v0 = p->triv_off[id], v1 = p->triv_off[id + 1];
        if (v0 == v1 || (w->classes[start] & p->punct)) continue;
        /* trivial_occurrence: the slots run to the ends of the word's clause */
        const int32_t clause = w->clauses[start];
        int32_t s = start;
        while (s > 0 && w->clauses[s - 1] == clause) s--;
        const int32_t e = w->clause_end[start];
        if (!(s < start && start < e - 1)) continue;
        for (int32_t k = v0; k < v1; k++) {
            w->slot_stack.v[0] = s;
            w->slot_stack.v[1] = start;
            add_match(p, w, p->triv_tpl[k], s, e, 1, 1, start + 1, e);
        }
    }
    for (int32_t i = 0; i < n; i++)
        if (w->ids[i] >= 0) w->first_pos[w->ids[i]] = -1;
}

/* best_cover(n, matches, tree=False): the applications of the best parse, appended to the
 * result in the reference's order. */
static void cover(Work *w, int32_t sentence) {
    const int32_t n = w->n;
    const Py_ssize_t n_matches = w->m_tpl.len;
    if (n_matches == 0) return;
    const int32_t *m_start = w->m_start.v, *m_end = w->m_end.v, *m_nslots = w->m_nslots.v;
    const int32_t *m_slot_off = w->m_slot_off.v, *m_slots = w->m_slots.v;
    if (ivec_resize(&w->need, (Py_ssize_t)n + 1) < 0 ||
        ivec_resize(&w->row_off, (Py_ssize_t)n + 1) < 0 ||
        ivec_resize(&w->end_off, (Py_ssize_t)n + 2) < 0 ||
        ivec_resize(&w->end_list, n_matches) < 0 || ivec_resize(&w->have, n_matches) < 0 ||
        dvec_resize(&w->value, n_matches) < 0 || ivec_resize(&w->value_fixed, n_matches) < 0) {
        w->failed = 1;
        return;
    }
    /* a row is needed from 0 to n and from each slot start to the end of its longest slot */
    int32_t *need = w->need.v;
    for (int32_t i = 0; i <= n; i++) need[i] = -1;
    need[0] = n;
    for (Py_ssize_t k = 0; k < n_matches; k++) {
        const int32_t *sl = m_slots + m_slot_off[k];
        for (int32_t q = 0; q < m_nslots[k]; q++)
            if (need[sl[2 * q]] < sl[2 * q + 1]) need[sl[2 * q]] = sl[2 * q + 1];
    }
    int32_t *row_off = w->row_off.v;
    Py_ssize_t total = 0;
    for (int32_t i = 0; i <= n; i++) {
        row_off[i] = need[i] >= 0 ? (int32_t)total : -1;
        if (need[i] >= 0) total += need[i] - i + 1;
    }
    if (total > INT32_MAX || dvec_resize(&w->score, total) < 0 ||
        ivec_resize(&w->fixed, total) < 0 || ivec_resize(&w->back, total) < 0) {
        w->failed = 1;
        return;
    }
    /* the matches by their end, in their order */
    int32_t *end_off = w->end_off.v, *end_list = w->end_list.v;
    memset(end_off, 0, ((size_t)n + 2) * sizeof(int32_t));
    for (Py_ssize_t k = 0; k < n_matches; k++) end_off[m_end[k] + 1]++;
    for (int32_t j = 0; j <= n; j++) end_off[j + 1] += end_off[j];
    for (Py_ssize_t k = 0; k < n_matches; k++) end_list[end_off[m_end[k]]++] = (int32_t)k;
    for (int32_t j = n; j > 0; j--) end_off[j] = end_off[j - 1];
    end_off[0] = 0;
    memset(w->have.v, 0, (size_t)n_matches * sizeof(int32_t));
    double *score = w->score.v, *value = w->value.v;
    int32_t *fixed = w->fixed.v, *back = w->back.v, *value_fixed = w->value_fixed.v;
    int32_t *have = w->have.v;
    const double *gain = w->m_gain.v;
    const int32_t *nfixed = w->m_nfixed.v;
    /* rows from the last start to the first: a slot's row is ready before its match's */
    for (int32_t i = n; i >= 0; i--) {
        if (need[i] < 0) continue;
        const int32_t r = row_off[i], limit = need[i];
        score[r] = 0.0;
        fixed[r] = 0;
        back[r] = -1;
        for (int32_t j = i + 1; j <= limit; j++) {
            double top = score[r + j - 1 - i];
            int32_t top_fixed = fixed[r + j - 1 - i], choice = -1;
            for (int32_t x = end_off[j]; x < end_off[j + 1]; x++) {
                const int32_t k = end_list[x], start = m_start[k];
                if (start < i) continue;
                if (!have[k]) {
                    /* its gain plus the best of each of its slots, in the slots' order */
                    double v = gain[k];
                    int32_t f = nfixed[k];
                    const int32_t *sl = m_slots + m_slot_off[k];
                    for (int32_t q = 0; q < m_nslots[k]; q++) {
                        const int32_t at = row_off[sl[2 * q]] + sl[2 * q + 1] - sl[2 * q];
                        v += score[at];
                        f += fixed[at];
                    }
                    value[k] = v;
                    value_fixed[k] = f;
                    have[k] = 1;
                }
                const int32_t before = r + start - i;
                const double cand = score[before] + value[k];
                const int32_t cand_fixed = fixed[before] + value_fixed[k];
                if (cand > top || (cand == top && cand_fixed > top_fixed)) {
                    top = cand;
                    top_fixed = cand_fixed;
                    choice = k;
                }
            }
            score[r + j - i] = top;
            fixed[r + j - i] = top_fixed;
            back[r + j - i] = choice;
        }
    }
    /* the applications: a sequence's from its end back to its start, each one followed by
     * everything in its slots (left to right); a task is a sequence (i, j) or an
     * application (-1, k) */
    w->tasks.len = 0;
    if (ivec_push(&w->tasks, 0) < 0 || ivec_push(&w->tasks, n) < 0) {
        w->failed = 1;
        return;
    }
    while (w->tasks.len > 0) {
        const int32_t a = w->tasks.v[w->tasks.len - 2], b = w->tasks.v[w->tasks.len - 1];
        w->tasks.len -= 2;
        if (a < 0) {
            const int32_t k = b, ns = m_nslots[k];
            const int32_t *sl = m_slots + m_slot_off[k];
            if (ivec_push(&w->out_sent, sentence) < 0 ||
                ivec_push(&w->out_tpl, w->m_tpl.v[k]) < 0 ||
                ivec_push(&w->out_slot_off, (int32_t)w->out_slots.len) < 0 ||
                ivec_push(&w->out_nslots, ns) < 0 ||
                ivec_reserve(&w->out_slots, 2 * (Py_ssize_t)ns) < 0 ||
                ivec_reserve(&w->tasks, 2 * (Py_ssize_t)ns) < 0) {
                w->failed = 1;
                return;
            }
            if (w->out_slots.len + 2 * (Py_ssize_t)ns > INT32_MAX) {
                w->failed = 1;
                return;
            }
            memcpy(w->out_slots.v + w->out_slots.len, sl, 2 * (size_t)ns * sizeof(int32_t));
            w->out_slots.len += 2 * ns;
            for (int32_t q = ns - 1; q >= 0; q--) {
                w->tasks.v[w->tasks.len++] = sl[2 * q];
                w->tasks.v[w->tasks.len++] = sl[2 * q + 1];
            }
            continue;
        }
        const int32_t i = a, r = row_off[i];
        int32_t j = b;
        w->found.len = 0;
        while (j > i) {
            const int32_t k = back[r + j - i];
            if (k < 0) {
                j--;
            } else {
                if (ivec_push(&w->found, k) < 0) {
                    w->failed = 1;
                    return;
                }
                j = m_start[k];
            }
        }
        if (ivec_reserve(&w->tasks, 2 * w->found.len) < 0) {
            w->failed = 1;
            return;
        }
        for (Py_ssize_t x = w->found.len - 1; x >= 0; x--) {
            w->tasks.v[w->tasks.len++] = -1;
            w->tasks.v[w->tasks.len++] = w->found.v[x];
        }
    }
}

/* The applications of every sentence of a chunk (offsets[s] .. offsets[s + 1] are its
 * words); runs without the GIL. Returns -1 when memory ran short. */
static int chunk_applications(const Parser *p, Work *w, const int32_t *ids,
                              const int32_t *classes, const int32_t *clauses,
                              const int32_t *clause_end, const int32_t *offsets,
                              Py_ssize_t n_sentences) {
    for (Py_ssize_t s = 0; s < n_sentences && !w->failed; s++) {
        const int32_t a = offsets[s];
        w->ids = ids + a;
        w->classes = classes + a;
        w->clauses = clauses + a;
        w->clause_end = clause_end + a;
        w->n = offsets[s + 1] - a;
        sentence_matches(p, w);
        if (!w->failed) cover(w, (int32_t)s);
    }
    return w->failed ? -1 : 0;
}

/* A buffer's int32 values, copied (any alignment); NULL with an error set. */
static int32_t *chunk_array(PyObject *obj, Py_ssize_t *count) {
    int32_t *out;
    if (take_int32(obj, &out, count) < 0) return NULL;
    return out;
}

static PyObject *int_pair(int32_t a, int32_t b) {
    PyObject *x = PyLong_FromLong(a), *y = x ? PyLong_FromLong(b) : NULL;
    PyObject *t = y ? PyTuple_Pack(2, x, y) : NULL;
    Py_XDECREF(x);
    Py_XDECREF(y);
    return t;
}

/* The result: a list of (sentence, template, slots), slots a tuple of (start, end). */
static PyObject *result_list(const Work *w) {
    const Py_ssize_t count = w->out_tpl.len;
    PyObject *result = PyList_New(count);
    if (!result) return NULL;
    for (Py_ssize_t a = 0; a < count; a++) {
        const int32_t ns = w->out_nslots.v[a];
        const int32_t *sl = w->out_slots.v + w->out_slot_off.v[a];
        PyObject *slots = PyTuple_New(ns);
        if (!slots) goto fail;
        for (int32_t q = 0; q < ns; q++) {
            PyObject *pair = int_pair(sl[2 * q], sl[2 * q + 1]);
            if (!pair) {
                Py_DECREF(slots);
                goto fail;
            }
            PyTuple_SET_ITEM(slots, q, pair);
        }
        PyObject *sent = PyLong_FromLong(w->out_sent.v[a]);
        PyObject *tpl = sent ? PyLong_FromLong(w->out_tpl.v[a]) : NULL;
        PyObject *item = tpl ? PyTuple_Pack(3, sent, tpl, slots) : NULL;
        Py_XDECREF(sent);
        Py_XDECREF(tpl);
        Py_DECREF(slots);
        if (!item) goto fail;
        PyList_SET_ITEM(result, a, item);
    }
    return result;
fail:
    Py_DECREF(result);
    return NULL;
}

/* applications(ids, classes, clauses, clause_end, offsets) -> list[(sentence, template,
 * slots)]: the applications of the best parse of every sentence of a chunk, in order. The
 * first four are int32 arrays of the chunk's words, sentence after sentence: each word's
 * id (-1: no template holds it), word_class, clause and clause_end (within its sentence);
 * offsets (int32, one more than the sentences) where each sentence begins. */
static PyObject *Parser_applications(Parser *self, PyObject *args) {
    PyObject *o[5];
    if (!PyArg_ParseTuple(args, "OOOOO", &o[0], &o[1], &o[2], &o[3], &o[4])) return NULL;
    int32_t *arr[5] = {NULL, NULL, NULL, NULL, NULL};
    Py_ssize_t len[5];
    PyObject *result = NULL;
    Work w;
    memset(&w, 0, sizeof(w));
    for (int k = 0; k < 5; k++)
        if (!(arr[k] = chunk_array(o[k], &len[k]))) goto done;
    const int32_t *ids = arr[0], *clause_end = arr[3], *offsets = arr[4];
    const Py_ssize_t n_words = len[0], n_sentences = len[4] - 1;
    if (len[1] != n_words || len[2] != n_words || len[3] != n_words || n_sentences < 0 ||
        offsets[0] != 0 || offsets[n_sentences] != n_words) {
        PyErr_SetString(PyExc_ValueError,
                        "applications: ids, classes, clauses and clause_end must be as long as "
                        "the chunk, offsets one more than its sentences, from 0 to its length");
        goto done;
    }
    for (Py_ssize_t s = 0; s < n_sentences; s++) {
        const int32_t a = offsets[s], b = offsets[s + 1];
        if (b < a) {
            PyErr_SetString(PyExc_ValueError, "applications: offsets must not decrease");
            goto done;
        }
        for (int32_t i = a; i < b; i++) {
            if (ids[i] < -1 || ids[i] >= self->n_words) {
                PyErr_SetString(PyExc_ValueError, "applications: a word id out of range");
                goto done;
            }
            if (clause_end[i] <= i - a || clause_end[i] > b - a) {
                PyErr_SetString(PyExc_ValueError,
                                "applications: clause_end must lie after its position, within "
                                "its sentence");
                goto done;
            }
        }
    }
    w.first_pos = alloc_array(self->n_words, sizeof(int32_t));
    if (!w.first_pos) {
        PyErr_NoMemory();
        goto done;
    }
    for (int32_t k = 0; k < self->n_words; k++) w.first_pos[k] = -1;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = chunk_applications(self, &w, ids, arr[1], arr[2], clause_end, offsets, n_sentences);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        PyErr_NoMemory();
        goto done;
    }
    result = result_list(&w);
done:
    for (int k = 0; k < 5; k++) free(arr[k]);
    work_free(&w);
    return result;
}

/* ---- template counts (pass 3) ----------------------------------------------------- */

/*
 * The compiled twin of ciyu.template.mining.TemplatePass.map after the chunk's pair slots
 * are known: the template occurrences of every sentence (ciyu.template.occurrences.
 * occurrences: BFS from each start over the sentence's edges, shortest paths first, at
 * most max_paths steps from each start, the first occurrence of each template in a
 * sentence, then the trivial ones) counted per distinct template as TemplateCounts.add
 * counts them: occurrences, slot-length histograms, and each slot's filler sketch (its
 * one filler so far, as a (start, end) reference into the chunk, or open; at the end, the
 * hash of that filler: sketch_hashes). Words are key ids (equal ids, equal keys); a
 * template's items are key ids and SLOT_ID.
 */

#define SLOT_ID (-1)
/* most fixed words in a template (TemplateConfig allows 16) */
#define MAX_FIXED 64

typedef struct {
    int64_t *v;
    Py_ssize_t len, cap;
} LVec;

static int lvec_reserve(LVec *a, Py_ssize_t extra) {
    if (a->len + extra <= a->cap) return 0;
    Py_ssize_t cap = a->cap ? a->cap : 64;
    while (cap < a->len + extra) {
        if (cap > PY_SSIZE_T_MAX / 2 / (Py_ssize_t)sizeof(int64_t)) return -1;
        cap *= 2;
    }
    int64_t *v = realloc(a->v, (size_t)cap * sizeof(int64_t));
    if (!v) return -1;
    a->v = v;
    a->cap = cap;
    return 0;
}

/* The distinct templates of a chunk, in the order they were first seen. */
typedef struct {
    IVec item_off, items;  /* each template's items */
    IVec stat_off;         /* each template's row in stats: count, then the histograms */
    LVec stats;
    IVec slot_off, sketch; /* each slot's filler: (start, end) in the chunk, or (-1, -1) */
    IVec stamp;            /* the last sentence the template occurred in */
    LVec hash;
    int32_t *index; /* open addressing: template numbers, -1 for a free slot */
    uint64_t mask;
    LVec found; /* with hashes_only: the code hash of each occurrence, once per sentence */
    int failed;
} Counts;

static void counts_free(Counts *c) {
    IVec *ivecs[] = {&c->item_off, &c->items,  &c->stat_off,
                     &c->slot_off, &c->sketch, &c->stamp};
    for (size_t k = 0; k < sizeof(ivecs) / sizeof(ivecs[0]); k++) free(ivecs[k]->v);
    free(c->stats.v);
    free(c->hash.v);
    free(c->found.v);
    free(c->index);
}

static uint64_t items_hash(const int32_t *items, int32_t len) {
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)len;
    for (int32_t k = 0; k < len; k++) h = hash64(h ^ (uint32_t)items[k]) + (uint64_t)k;
    return h;
}

/* Twice the room in the index, every template placed again; -1 when memory is short. */
static int counts_grow(Counts *c) {
    uint64_t cap = c->index ? (c->mask + 1) * 2 : 1024;
    if (cap > (uint64_t)INT32_MAX) return -1;
    int32_t *index = malloc((size_t)cap * sizeof(int32_t));
    if (!index) return -1;
    memset(index, 0xff, (size_t)cap * sizeof(int32_t));
    for (Py_ssize_t t = 0; t < c->hash.len; t++) {
        uint64_t i = (uint64_t)c->hash.v[t] & (cap - 1);
        while (index[i] >= 0) i = (i + 1) & (cap - 1);
        index[i] = (int32_t)t;
    }
    free(c->index);
    c->index = index;
    c->mask = cap - 1;
    return 0;
}

/* The number of the template of these items, a new one (count 0, its slots' fillers
 * these) if it was not seen before; -1 when memory is short. */
static int32_t counts_find(Counts *c, const int32_t *items, int32_t len, const int32_t *slots,
                           int32_t n_slots, int32_t n_gaps, int32_t n_buckets) {
    if ((uint64_t)(c->hash.len + 1) * 2 > (c->index ? c->mask + 1 : 0) && counts_grow(c) < 0)
        return -1;
    const uint64_t h = items_hash(items, len);
    uint64_t i = h & c->mask;
    for (;;) {
        const int32_t t = c->index[i];
        if (t < 0) break;
        if ((uint64_t)c->hash.v[t] == h) {
            const int32_t a = c->item_off.v[t], b = c->item_off.v[t + 1];
            if (b - a == len && memcmp(c->items.v + a, items, (size_t)len * sizeof(int32_t)) == 0)
                return t;
        }
        i = (i + 1) & c->mask;
    }
    const Py_ssize_t t = c->hash.len;
    const Py_ssize_t row = 1 + (Py_ssize_t)n_gaps * n_buckets;
    if (t >= INT32_MAX - 1 || c->items.len + len > INT32_MAX ||
        c->stats.len + row > INT32_MAX || c->sketch.len + 2 * (Py_ssize_t)n_slots > INT32_MAX)
        return -1;
    if (lvec_reserve(&c->hash, 1) < 0 || ivec_reserve(&c->items, len) < 0 ||
        lvec_reserve(&c->stats, row) < 0 || ivec_reserve(&c->sketch, 2 * (Py_ssize_t)n_slots) < 0 ||
        ivec_push(&c->stamp, -1) < 0)
        return -1;
    memcpy(c->items.v + c->items.len, items, (size_t)len * sizeof(int32_t));
    c->items.len += len;
    memset(c->stats.v + c->stats.len, 0, (size_t)row * sizeof(int64_t));
    c->stats.len += row;
    memcpy(c->sketch.v + c->sketch.len, slots, 2 * (size_t)n_slots * sizeof(int32_t));
    c->sketch.len += 2 * n_slots;
    if (ivec_push(&c->item_off, (int32_t)c->items.len) < 0 ||
        ivec_push(&c->stat_off, (int32_t)c->stats.len) < 0 ||
        ivec_push(&c->slot_off, (int32_t)(c->sketch.len / 2)) < 0)
        return -1;
    c->hash.v[c->hash.len++] = (int64_t)h;
    c->index[i] = (int32_t)t;
    return (int32_t)t;
}

/* ---- the filler hash: BLAKE2b-128 (RFC 7693) ------------------------------------------- */

/*
 * A slot's filler sketch holds the 128-bit hash of its one filler so far
 * (ciyu.template.mining.filler_hash is the reference): BLAKE2b with a 16-byte digest, no
 * key, over the UTF-8 of the filler's word keys joined by the byte 0xFF (which UTF-8 never
 * holds), as two little-endian uint64 lanes. Written after RFC 7693 (section 3 and
 * appendix C); one message is hashed at a time, in pieces (the keys and separators).
 */

typedef struct {
    uint64_t h[8];
    uint64_t t;       /* bytes compressed so far (fillers are far below 2^64 bytes) */
    uint8_t buf[128]; /* the block being filled */
    size_t fill;
} Blake2b;

static const uint64_t blake2b_iv[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

static const uint8_t blake2b_sigma[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
    {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
    {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
    {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
    {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
};

static inline uint64_t rotr64(uint64_t x, int n) { return (x >> n) | (x << (64 - n)); }

static inline uint64_t load64_le(const uint8_t *p) {
    uint64_t x = 0;
    for (int k = 7; k >= 0; k--) x = (x << 8) | p[k];
    return x;
}

#define BLAKE2B_G(a, b, c, d, x, y)     \
    do {                                \
        v[a] = v[a] + v[b] + (x);       \
        v[d] = rotr64(v[d] ^ v[a], 32); \
        v[c] = v[c] + v[d];             \
        v[b] = rotr64(v[b] ^ v[c], 24); \
        v[a] = v[a] + v[b] + (y);       \
        v[d] = rotr64(v[d] ^ v[a], 16); \
        v[c] = v[c] + v[d];             \
        v[b] = rotr64(v[b] ^ v[c], 63); \
    } while (0)

static void blake2b_compress(Blake2b *s, int last) {
    uint64_t v[16], m[16];
    for (int k = 0; k < 16; k++) m[k] = load64_le(s->buf + 8 * k);
    for (int k = 0; k < 8; k++) {
        v[k] = s->h[k];
        v[k + 8] = blake2b_iv[k];
    }
    v[12] ^= s->t; /* the high word of the 128-bit counter stays 0 */
    if (last) v[14] = ~v[14];
    for (int r = 0; r < 12; r++) {
        const uint8_t *sg = blake2b_sigma[r];
        BLAKE2B_G(0, 4, 8, 12, m[sg[0]], m[sg[1]]);
        BLAKE2B_G(1, 5, 9, 13, m[sg[2]], m[sg[3]]);
        BLAKE2B_G(2, 6, 10, 14, m[sg[4]], m[sg[5]]);
        BLAKE2B_G(3, 7, 11, 15, m[sg[6]], m[sg[7]]);
        BLAKE2B_G(0, 5, 10, 15, m[sg[8]], m[sg[9]]);
        BLAKE2B_G(1, 6, 11, 12, m[sg[10]], m[sg[11]]);
        BLAKE2B_G(2, 7, 8, 13, m[sg[12]], m[sg[13]]);
        BLAKE2B_G(3, 4, 9, 14, m[sg[14]], m[sg[15]]);
    }
    for (int k = 0; k < 8; k++) s->h[k] ^= v[k] ^ v[k + 8];
}

/* A 16-byte digest, no key: the parameter block's first word is 0x01010000 | 16. */
static void blake2b_init(Blake2b *s) {
    memcpy(s->h, blake2b_iv, sizeof(s->h));
    s->h[0] ^= 0x01010000ULL ^ 16;
    s->t = 0;
    s->fill = 0;
}

/* The last block is compressed in blake2b_final (with the last flag), so a full buffer is
 * compressed only when more bytes follow it. */
static void blake2b_update(Blake2b *s, const uint8_t *p, size_t n) {
    while (n > 0) {
        if (s->fill == sizeof(s->buf)) {
            s->t += sizeof(s->buf);
            blake2b_compress(s, 0);
            s->fill = 0;
        }
        size_t take = sizeof(s->buf) - s->fill;
        if (take > n) take = n;
        memcpy(s->buf + s->fill, p, take);
        s->fill += take;
        p += take;
        n -= take;
    }
}

/* The digest's two little-endian uint64 lanes (its bytes 0-7 and 8-15). */
static void blake2b_final(Blake2b *s, uint64_t out[2]) {
    s->t += s->fill;
    memset(s->buf + s->fill, 0, sizeof(s->buf) - s->fill);
    blake2b_compress(s, 1);
    out[0] = s->h[0];
    out[1] = s->h[1];
}

/* The chunk and the options of one call (all positions are the chunk's). */
typedef struct {
    const int32_t *keys, *vocab, *classes, *clauses, *offsets;
    const int64_t *edges; /* the kept pairs' keys, (a * n_vocab + b) * n_buckets + bucket */
    Py_ssize_t n_edges;
    /* the UTF-8 of each distinct key: key k is key_bytes[key_off[k] .. key_off[k + 1]) */
    const uint8_t *key_bytes;
    const int32_t *key_off;
    Py_ssize_t n_keys;
    int64_t n_vocab;
    /* made here: each position's clause end (Sentence.of) and edges (sentence_edges) */
    int32_t *clause_end, *succ_off;
    IVec succ;
    Py_ssize_t n_sentences;
    /* as PyArg_ParseTuple gives them */
    int max_fixed, max_gaps, max_distance, max_paths, trivial, n_buckets;
    int punct, opener, closer, boundary;
    /* only the templates whose code hash is in frequent (sorted) are counted, if filter */
    const uint64_t *frequent;
    Py_ssize_t n_frequent;
    int filter;
    int hashes_only; /* record each occurrence's code hash (Counts.found), count nothing */
} Chunk;

/* The code hash of a template (ciyu.template.mining.template_hashes): FNV-1a over its item
 * codes (SLOT_CODE for a slot, WORD + vocabulary id for a fixed word), then a finalizer. */
#define CODE_SLOT 1u
#define CODE_WORD 2u
#define FNV_START 0xCBF29CE484222325ULL
static inline uint64_t fnv_step(uint64_t h, uint64_t code) { return (h ^ code) * 0x100000001B3ULL; }
static inline uint64_t fnv_final(uint64_t h) {
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    return h ^ (h >> 33);
}

static int is_frequent(const Chunk *ch, uint64_t h) {
    Py_ssize_t lo = 0, hi = ch->n_frequent;
    while (lo < hi) {
        const Py_ssize_t mid = lo + (hi - lo) / 2;
        if (ch->frequent[mid] < h) lo = mid + 1;
        else hi = mid;
    }
    return lo < ch->n_frequent && ch->frequent[lo] == h;
}

/* TemplateCounts.add for one occurrence in sentence s, unless its template has already
 * occurred in s (the `seen` set of occurrences()). */
static void count_occurrence(const Chunk *ch, Counts *c, int32_t s, const int32_t *items,
                             int32_t len, const int32_t *slots, int32_t n_slots,
                             const int32_t *gaps, int32_t n_gaps) {
    const Py_ssize_t before = c->hash.len;
    const int32_t t = counts_find(c, items, len, slots, n_slots, n_gaps, ch->n_buckets);
    if (t < 0) {
        c->failed = 1;
        return;
    }
    if (c->stamp.v[t] == s) return; /* seen in this sentence */
    c->stamp.v[t] = s;
    if (t < before) { /* not new: a slot opens when its filler differs from the first */
        int32_t *first = c->sketch.v + 2 * (Py_ssize_t)c->slot_off.v[t];
        for (int32_t q = 0; q < n_slots; q++, first += 2) {
            if (first[0] < 0) continue;
            const int32_t a = slots[2 * q], b = slots[2 * q + 1];
            if (first[1] - first[0] != b - a ||
                memcmp(ch->keys + first[0], ch->keys + a, (size_t)(b - a) * sizeof(int32_t)) != 0)
                first[0] = first[1] = -1;
        }
    }
    int64_t *row = c->stats.v + c->stat_off.v[t];
    row[0]++;
    for (int32_t q = 0; q < n_gaps; q++) row[1 + (Py_ssize_t)q * ch->n_buckets + gaps[q]]++;
}

/* One occurrence whose template has the code hash h: recorded (hashes_only), or counted
 * unless the filter leaves its template out. */
static void take_occurrence(const Chunk *ch, Counts *c, int32_t s, uint64_t h,
                            const int32_t *items, int32_t len, const int32_t *slots,
                            int32_t n_slots, const int32_t *gaps, int32_t n_gaps) {
    if (ch->hashes_only) {
        if (lvec_reserve(&c->found, 1) < 0) c->failed = 1;
        else c->found.v[c->found.len++] = (int64_t)h;
        return;
    }
    if (ch->filter && !is_frequent(ch, h)) return;
    count_occurrence(ch, c, s, items, len, slots, n_slots, gaps, n_gaps);
}

static int cmp_int64(const void *x, const void *y) {
    const int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static int32_t bit_length(int32_t x) {
    int32_t b = 0;
    while (x > 0) {
        b++;
        x >>= 1;
    }
    return b;
}

static int cmp_int32(const void *x, const void *y) {
    const int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return (a > b) - (a < b);
}

/* The positions a path (path[0 .. depth - 1]) may go on to (run_successors): the edges of
 * every word of its last run of adjacent positions, after its end, ascending, each once.
 * They are the edges of its last word alone when that run is one word (no copy: *out
 * points into ch->succ). -1 when memory is short. */
static int run_successors(const Chunk *ch, const int32_t *path, int32_t depth, IVec *scratch,
                          const int32_t **out, Py_ssize_t *n_out) {
    const int32_t end = path[depth - 1];
    int32_t r = depth - 1;
    while (r > 0 && path[r - 1] == path[r] - 1) r--;
    if (r == depth - 1) {
        *out = ch->succ.v + ch->succ_off[end];
        *n_out = ch->succ_off[end + 1] - ch->succ_off[end];
        return 0;
    }
    scratch->len = 0;
    for (int32_t k = r; k < depth; k++) {
        const int32_t p = path[k];
        for (int32_t e = ch->succ_off[p]; e < ch->succ_off[p + 1]; e++)
            if (ch->succ.v[e] > end && ivec_push(scratch, ch->succ.v[e]) < 0) return -1;
    }
    qsort(scratch->v, (size_t)scratch->len, sizeof(int32_t), cmp_int32);
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < scratch->len; i++)
        if (n == 0 || scratch->v[n - 1] != scratch->v[i]) scratch->v[n++] = scratch->v[i];
    *out = scratch->v;
    *n_out = n;
    return 0;
}

/* attaches(): whether a path ending at end that goes on to next[e] (its successors,
 * ascending) also goes on to the word just before it and that word together: a kept
 * adjacent pair, a slot still between end and them, and the word before no successor
 * itself. */
static int attaches(const Chunk *ch, const int32_t *next, Py_ssize_t e, int32_t end) {
    const int32_t nxt = next[e], before = nxt - 1;
    return nxt - end > 2 && ch->succ_off[before] < ch->succ_off[before + 1] &&
           ch->succ.v[ch->succ_off[before]] == nxt && !(e > 0 && next[e - 1] == before);
}

/* occurrences(): the paths from each start of sentence s (chunk positions a .. b), then
 * the trivial occurrences. level and longer are the BFS levels: records of max_fixed + 1
 * values, the number of positions of a path, then its positions (a step adds one word, or
 * two adjacent ones: attaches()). */
static void sentence_counts(const Chunk *ch, Counts *c, int32_t s, IVec *level, IVec *longer,
                            IVec *scratch) {
    const int32_t a = ch->offsets[s], b = ch->offsets[s + 1];
    const int32_t *classes = ch->classes, *clauses = ch->clauses, *keys = ch->keys;
    const Py_ssize_t stride = (Py_ssize_t)ch->max_fixed + 1;
    int32_t items[2 * MAX_FIXED + 2], slots[2 * (MAX_FIXED + 1)], gaps[MAX_FIXED];
    int32_t grown[MAX_FIXED + 1];
    for (int32_t start = a; start < b && !c->failed; start++) {
        if (ch->succ_off[start] == ch->succ_off[start + 1]) continue;
        const int32_t first = classes[start];
        if ((first & ch->punct) && !(first & ch->opener)) continue;
        const int64_t limit = (int64_t)start + ch->max_distance;
        const int32_t start_clause = clauses[start];
        const int64_t last_clause = (int64_t)start_clause + 1;
        level->len = 0;
        if (ivec_reserve(level, stride) < 0) {
            c->failed = 1;
            return;
        }
        level->v[0] = 1;
        level->v[1] = start;
        level->len = stride;
        int32_t budget = ch->max_paths;
        while (level->len > 0 && budget > 0 && !c->failed) {
            longer->len = 0;
            for (Py_ssize_t at = 0; at < level->len && !c->failed; at += stride) {
                const int32_t depth = level->v[at], *path = level->v + at + 1;
                const int32_t end = path[depth - 1], *next;
                Py_ssize_t n_next;
                int32_t path_gaps = 0; /* slots between the path's fixed words so far */
                for (int32_t k = 1; k < depth; k++) path_gaps += path[k] - path[k - 1] > 1;
                if (run_successors(ch, path, depth, scratch, &next, &n_next) < 0) {
                    c->failed = 1;
                    return;
                }
                for (Py_ssize_t e = 0; e < n_next; e++) {
                    const int32_t nxt = next[e];
                    if (nxt > limit || clauses[nxt] > last_clause || budget <= 0) break;
                    if (nxt - end > 1 && path_gaps >= ch->max_gaps) continue;
                    const int32_t last = classes[nxt], clause_end = ch->clause_end[nxt];
                    const int ends_well = !((last & ch->punct) && !(last & ch->closer));
                    /* a path into the next clause takes the rest of it as a trailing slot */
                    const int rest = clauses[nxt] > start_clause && clause_end > nxt + 1;
                    const int n_steps =
                        1 + (depth + 2 <= ch->max_fixed && attaches(ch, next, e, end));
                    for (int step = 0; step < n_steps && budget > 0; step++) {
                        budget--;
                        /* the path level[at..] gone on to nxt, or to nxt - 1 and nxt */
                        int32_t glen = depth;
                        memcpy(grown, path, (size_t)depth * sizeof(int32_t));
                        if (step == 1) grown[glen++] = nxt - 1;
                        grown[glen++] = nxt;
                        if (ends_well) {
                            /* its occurrence */
                            int32_t len = 0, n_slots = 0, n_gaps = 0;
                            items[len++] = keys[grown[0]];
                            uint64_t h =
                                fnv_step(FNV_START, CODE_WORD + (uint64_t)ch->vocab[grown[0]]);
                            for (int32_t k = 1; k < glen; k++) {
                                const int32_t p = grown[k - 1], q = grown[k];
                                if (q - p > 1) {
                                    items[len++] = SLOT_ID;
                                    h = fnv_step(h, CODE_SLOT);
                                    slots[2 * n_slots] = p + 1;
                                    slots[2 * n_slots++ + 1] = q;
                                    gaps[n_gaps++] = bit_length(q - p - 1);
                                }
                                items[len++] = keys[q];
                                h = fnv_step(h, CODE_WORD + (uint64_t)ch->vocab[q]);
                            }
                            if (rest) {
                                items[len++] = SLOT_ID;
                                h = fnv_step(h, CODE_SLOT);
                                slots[2 * n_slots] = nxt + 1;
                                slots[2 * n_slots++ + 1] = clause_end;
                            }
                            if (n_slots > 0)
                                take_occurrence(ch, c, s, fnv_final(h), items, len, slots,
                                                n_slots, gaps, n_gaps);
                        }
                        if (glen < ch->max_fixed) {
                            if (ivec_reserve(longer, stride) < 0) {
                                c->failed = 1;
                                return;
                            }
                            int32_t *rec = longer->v + longer->len;
                            rec[0] = glen;
                            memcpy(rec + 1, grown, (size_t)glen * sizeof(int32_t));
                            longer->len += stride;
                        }
                    }
                }
            }
            IVec swap = *level;
            *level = *longer;
            *longer = swap;
        }
    }
    if (!ch->trivial) return;
    /* trivial_occurrences: <X> w <X>, the slots running to the ends of w's clause */
    for (int32_t pos = a; pos < b && !c->failed; pos++) {
        if (ch->vocab[pos] < 0 || (classes[pos] & ch->punct)) continue;
        int32_t begin = pos;
        while (begin > a && clauses[begin - 1] == clauses[pos]) begin--;
        const int32_t end = ch->clause_end[pos];
        if (!(begin < pos && pos < end - 1)) continue;
        const int32_t triv[3] = {SLOT_ID, keys[pos], SLOT_ID};
        const int32_t spans[4] = {begin, pos, pos + 1, end};
        const uint64_t h =
            fnv_step(fnv_step(fnv_step(FNV_START, CODE_SLOT), CODE_WORD + (uint64_t)ch->vocab[pos]),
                     CODE_SLOT);
        take_occurrence(ch, c, s, fnv_final(h), triv, 3, spans, 2, NULL, 0);
    }
}

/* The edges of every position (chunk_edges): the pair slots (i, j) of its sentence, j
 * within max_distance after i and in i's clause or the next, whose words make a kept pair
 * at their distance; j ascending. -1 when memory is short. */
static int chunk_edges(Chunk *ch) {
    uint64_t cap = 16;
    while (cap < (uint64_t)ch->n_edges * 2 + 2) cap *= 2;
    uint64_t *set = calloc(cap, sizeof(uint64_t)); /* key + 1; 0 marks a free slot */
    if (!set) return -1;
    for (Py_ssize_t e = 0; e < ch->n_edges; e++) {
        const uint64_t key = (uint64_t)ch->edges[e] + 1;
        uint64_t i = hash64(key) & (cap - 1);
        while (set[i] != 0 && set[i] != key) i = (i + 1) & (cap - 1);
        set[i] = key;
    }
    const int64_t nb = ch->n_buckets;
    ch->succ_off[0] = 0;
    for (Py_ssize_t s = 0; s < ch->n_sentences; s++) {
        const int32_t b = ch->offsets[s + 1];
        for (int32_t i = ch->offsets[s]; i < b; i++) {
            const int32_t a_id = ch->vocab[i];
            const int64_t far = (int64_t)i + ch->max_distance < b ? (int64_t)i + ch->max_distance
                                                                   : (int64_t)b - 1;
            for (int32_t j = i + 1; a_id >= 0 && ch->n_edges > 0 && j <= far; j++) {
                if (ch->vocab[j] < 0 || (int64_t)ch->clauses[j] - ch->clauses[i] > 1) continue;
                const uint64_t key =
                    (uint64_t)(((int64_t)a_id * ch->n_vocab + ch->vocab[j]) * nb +
                               bit_length(j - i - 1)) + 1;
                uint64_t at = hash64(key) & (cap - 1);
                while (set[at] != 0 && set[at] != key) at = (at + 1) & (cap - 1);
                if (set[at] == key && ivec_push(&ch->succ, j) < 0) {
                    free(set);
                    return -1;
                }
            }
            if (ch->succ.len > INT32_MAX) {
                free(set);
                return -1;
            }
            ch->succ_off[i + 1] = (int32_t)ch->succ.len;
        }
    }
    free(set);
    return 0;
}

static int chunk_counts(Chunk *ch, Counts *c) {
    IVec level = {NULL, 0, 0}, longer = {NULL, 0, 0}, scratch = {NULL, 0, 0};
    if (chunk_edges(ch) < 0) return -1;
    /* Sentence.clause_end: the first position after each that holds a boundary mark, or
     * the end of the sentence */
    for (Py_ssize_t s = 0; s < ch->n_sentences; s++) {
        int32_t next = ch->offsets[s + 1];
        for (int32_t i = ch->offsets[s + 1] - 1; i >= ch->offsets[s]; i--) {
            ch->clause_end[i] = next;
            if (ch->classes[i] & ch->boundary) next = i;
        }
    }
    if (ivec_push(&c->item_off, 0) < 0 || ivec_push(&c->stat_off, 0) < 0 ||
        ivec_push(&c->slot_off, 0) < 0 || counts_grow(c) < 0)
        c->failed = 1;
    for (Py_ssize_t s = 0; s < ch->n_sentences && !c->failed; s++) {
        const Py_ssize_t from = c->found.len;
        sentence_counts(ch, c, (int32_t)s, &level, &longer, &scratch);
        if (!ch->hashes_only || c->found.len - from < 2) continue;
        /* a template once per sentence (by its hash: two templates of one hash in one
         * sentence count once, which never makes a hash rarer than its templates) */
        int64_t *v = c->found.v + from;
        const Py_ssize_t n = c->found.len - from;
        qsort(v, (size_t)n, sizeof(int64_t), cmp_int64);
        Py_ssize_t kept = 1;
        for (Py_ssize_t i = 1; i < n; i++)
            if (v[i] != v[kept - 1]) v[kept++] = v[i];
        c->found.len = from + kept;
    }
    free(level.v);
    free(longer.v);
    free(scratch.v);
    return c->failed ? -1 : 0;
}

/* Each slot's sketch as the result gives it: opened[q] 1 once the slot is open (its hash
 * 0, 0), else 0 and hashes[2q], hashes[2q + 1] the filler_hash of its one filler, the keys
 * of the chunk span it references joined by 0xFF. */
static void sketch_hashes(const Chunk *ch, const Counts *c, uint8_t *opened, uint64_t *hashes) {
    static const uint8_t sep = 0xff;
    const Py_ssize_t n_slots = c->sketch.len / 2;
    for (Py_ssize_t q = 0; q < n_slots; q++) {
        const int32_t a = c->sketch.v[2 * q], b = c->sketch.v[2 * q + 1];
        opened[q] = a < 0;
        hashes[2 * q] = hashes[2 * q + 1] = 0;
        if (a < 0) continue;
        Blake2b s;
        blake2b_init(&s);
        for (int32_t i = a; i < b; i++) {
            const int32_t k = ch->keys[i];
            if (i > a) blake2b_update(&s, &sep, 1);
            blake2b_update(&s, ch->key_bytes + ch->key_off[k],
                           (size_t)(ch->key_off[k + 1] - ch->key_off[k]));
        }
        blake2b_final(&s, hashes + 2 * q);
    }
}

static PyObject *bytes_of(const void *v, Py_ssize_t count, size_t size) {
    return PyBytes_FromStringAndSize(v ? (const char *)v : "", count * (Py_ssize_t)size);
}

/* template_counts(keys, vocab, classes, clauses, offsets, edges, key_bytes, key_off,
 *                 n_vocab, max_fixed, max_gaps, max_distance, max_paths, trivial,
 *                 n_buckets, punct, opener, closer, boundary, frequent=None,
 *                 hashes_only=False)
 *   -> (item_off, items, stat_off, stats, slot_off, opened, hashes), all bytes
 * The int32 arrays are the chunk's, position by position: the key id (>= 0) and the
 * vocabulary id (-1: no fixed word, else below n_vocab) of each word, its class and clause
 * (ChunkPairs.clauses: within a sentence, the clause marks before it, plus any number);
 * offsets where each sentence begins (one more than the sentences); edges (int64) the kept
 * pairs (PairTable.edges); key_bytes the UTF-8 of the distinct keys one after the other,
 * key id k at key_off[k] .. key_off[k + 1] (int32, one more than the keys). The result
 * holds each distinct template in the order of its first occurrence: its items (int32:
 * key ids, -1 for a slot) from item_off, its stats row (int64: count, then n_buckets
 * counts per internal slot) from stat_off, and its slots' filler sketches from slot_off
 * (in slots): opened (uint8, 1 once the slot is open) and hashes (uint64, two per slot:
 * the filler_hash of its one filler, 0, 0 once open). */
static PyObject *template_counts(PyObject *module, PyObject *args) {
    (void)module;
    enum { N_ARRAYS = 6 };
    PyObject *o[N_ARRAYS], *edges_obj, *key_bytes_obj, *frequent_obj = Py_None;
    long long n_vocab;
    Chunk ch;
    memset(&ch, 0, sizeof(ch));
    if (!PyArg_ParseTuple(args, "OOOOOOOOLiiiipiiiii|Op", &o[0], &o[1], &o[2], &o[3], &o[4],
                          &edges_obj, &key_bytes_obj, &o[5], &n_vocab, &ch.max_fixed,
                          &ch.max_gaps, &ch.max_distance, &ch.max_paths, &ch.trivial,
                          &ch.n_buckets, &ch.punct, &ch.opener, &ch.closer, &ch.boundary,
                          &frequent_obj, &ch.hashes_only))
        return NULL;
    Py_buffer frequent;
    int have_frequent = 0;
    int32_t *arr[N_ARRAYS] = {NULL, NULL, NULL, NULL, NULL, NULL};
    Py_ssize_t len[N_ARRAYS];
    PyObject *result = NULL;
    Counts c;
    memset(&c, 0, sizeof(c));
    Py_buffer edges, key_bytes;
    int have_edges = 0, have_key_bytes = 0;
    uint8_t *opened = NULL;
    uint64_t *hashes = NULL;
    for (int k = 0; k < N_ARRAYS; k++)
        if (!(arr[k] = chunk_array(o[k], &len[k]))) goto done;
    if (PyObject_GetBuffer(edges_obj, &edges, PyBUF_C_CONTIGUOUS) < 0) goto done;
    have_edges = 1;
    if (PyObject_GetBuffer(key_bytes_obj, &key_bytes, PyBUF_C_CONTIGUOUS) < 0) goto done;
    have_key_bytes = 1;
    if (frequent_obj != Py_None) {
        if (PyObject_GetBuffer(frequent_obj, &frequent, PyBUF_C_CONTIGUOUS) < 0) goto done;
        have_frequent = 1;
        if (frequent.len % (Py_ssize_t)sizeof(uint64_t) ||
            (uintptr_t)frequent.buf % sizeof(uint64_t)) {
            PyErr_SetString(PyExc_ValueError,
                            "template_counts: frequent must be an aligned uint64 array");
            goto done;
        }
        ch.frequent = (const uint64_t *)frequent.buf;
        ch.n_frequent = frequent.len / (Py_ssize_t)sizeof(uint64_t);
        ch.filter = 1;
        for (Py_ssize_t i = 1; i < ch.n_frequent; i++)
            if (ch.frequent[i] <= ch.frequent[i - 1]) {
                PyErr_SetString(PyExc_ValueError,
                                "template_counts: frequent must be strictly increasing");
                goto done;
            }
    }
    ch.keys = arr[0];
    ch.vocab = arr[1];
    ch.classes = arr[2];
    ch.clauses = arr[3];
    ch.offsets = arr[4];
    ch.edges = (const int64_t *)edges.buf;
    ch.n_edges = edges.len / (Py_ssize_t)sizeof(int64_t);
    ch.key_bytes = (const uint8_t *)key_bytes.buf;
    ch.key_off = arr[5];
    ch.n_keys = len[5] - 1;
    ch.n_vocab = n_vocab;
    const Py_ssize_t n = len[0];
    ch.n_sentences = len[4] - 1;
    if (ch.max_fixed < 1 || ch.max_fixed > MAX_FIXED || ch.max_gaps < 0 || ch.max_distance < 1 ||
        ch.max_paths < 0 || ch.n_buckets <= bit_length(ch.max_distance - 1) || n_vocab < 0 ||
        n_vocab > INT32_MAX || edges.len % (Py_ssize_t)sizeof(int64_t) ||
        ((uintptr_t)edges.buf % sizeof(int64_t))) {
        PyErr_SetString(PyExc_ValueError,
                        "template_counts: max_fixed must be 1 to 64, max_gaps 0 or more, "
                        "max_distance 1 or more, "
                        "max_paths 0 or more, n_buckets more than the bucket of max_distance, "
                        "n_vocab an int32, and edges an int64 array");
        goto done;
    }
    if (len[1] != n || len[2] != n || len[3] != n || n > INT32_MAX / 2 || ch.n_sentences < 0 ||
        ch.offsets[0] != 0 || ch.offsets[ch.n_sentences] != n) {
        PyErr_SetString(PyExc_ValueError,
                        "template_counts: keys, vocab, classes and clauses must be as long as "
                        "the chunk, offsets one more than its sentences (from 0 to its "
                        "length)");
        goto done;
    }
    for (Py_ssize_t s = 0; s < ch.n_sentences; s++) {
        const int32_t a = ch.offsets[s], b = ch.offsets[s + 1];
        if (b < a) {
            PyErr_SetString(PyExc_ValueError, "template_counts: offsets must not decrease");
            goto done;
        }
    }
    int keys_ok = ch.n_keys >= 0 && ch.key_off[0] == 0 && ch.key_off[ch.n_keys] == key_bytes.len;
    for (Py_ssize_t k = 0; keys_ok && k < ch.n_keys; k++)
        if (ch.key_off[k + 1] < ch.key_off[k]) keys_ok = 0;
    if (!keys_ok) {
        PyErr_SetString(PyExc_ValueError,
                        "template_counts: key_off must run from 0 to the length of key_bytes "
                        "and not decrease");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (ch.keys[i] < 0 || ch.keys[i] >= ch.n_keys) {
            PyErr_SetString(PyExc_ValueError, "template_counts: a key id out of range");
            goto done;
        }
        if (ch.vocab[i] < -1 || ch.vocab[i] >= n_vocab) {
            PyErr_SetString(PyExc_ValueError, "template_counts: a vocabulary id out of range");
            goto done;
        }
    }
    ch.succ_off = alloc_array(n + 1, sizeof(int32_t));
    if (!ch.succ_off) {
        PyErr_NoMemory();
        goto done;
    }
    ch.clause_end = alloc_array(n, sizeof(int32_t));
    if (!ch.clause_end) {
        PyErr_NoMemory();
        goto done;
    }
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = chunk_counts(&ch, &c);
    if (rc == 0) {
        opened = alloc_array(c.sketch.len / 2, sizeof(uint8_t));
        hashes = alloc_array(c.sketch.len, sizeof(uint64_t));
        if (opened && hashes)
            sketch_hashes(&ch, &c, opened, hashes);
        else
            rc = -1;
    }
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        PyErr_NoMemory();
        goto done;
    }
    if (ch.hashes_only) {
        result = bytes_of(c.found.v, c.found.len, sizeof(int64_t));
        goto done;
    }
    result = Py_BuildValue("(NNNNNNN)", bytes_of(c.item_off.v, c.item_off.len, sizeof(int32_t)),
                           bytes_of(c.items.v, c.items.len, sizeof(int32_t)),
                           bytes_of(c.stat_off.v, c.stat_off.len, sizeof(int32_t)),
                           bytes_of(c.stats.v, c.stats.len, sizeof(int64_t)),
                           bytes_of(c.slot_off.v, c.slot_off.len, sizeof(int32_t)),
                           bytes_of(opened, c.sketch.len / 2, sizeof(uint8_t)),
                           bytes_of(hashes, c.sketch.len, sizeof(uint64_t)));
done:
    for (int k = 0; k < N_ARRAYS; k++) free(arr[k]);
    if (have_edges) PyBuffer_Release(&edges);
    if (have_key_bytes) PyBuffer_Release(&key_bytes);
    if (have_frequent) PyBuffer_Release(&frequent);
    free(opened);
    free(hashes);
    free(ch.clause_end);
    free(ch.succ_off);
    free(ch.succ.v);
    counts_free(&c);
    return result;
}

/* True if a buffer (got with PyBUF_FORMAT) holds int64 values, aligned. */
static int holds_int64(const Py_buffer *b) {
    const char *f = b->format ? b->format : "B";
    if (*f == '<' || *f == '=' || *f == '@') f++;
    return b->itemsize == 8 && (f[0] == 'q' || f[0] == 'l') && f[1] == '\0' &&
           (uintptr_t)b->buf % sizeof(int64_t) == 0;
}

/* Get the buffers of o[0..n) as C-contiguous int64 arrays, the first `readonly` of them
 * read-only and the others writable; *got counts the buffers to release, also on failure
 * (-1, with ValueError naming `who` when an array does not hold int64). */
static int int64_buffers(PyObject **o, Py_buffer *b, int n, int readonly, const char *who,
                         int *got) {
    for (*got = 0; *got < n; (*got)++) {
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (*got < readonly ? 0 : PyBUF_WRITABLE);
        if (PyObject_GetBuffer(o[*got], &b[*got], flags) < 0) return -1;
        if (!holds_int64(&b[*got])) {
            (*got)++;
            PyErr_Format(PyExc_ValueError, "%s: the arrays must hold int64", who);
            return -1;
        }
    }
    return 0;
}

/* merge_counts(keys_a, counts_a, keys_b, counts_b, out_keys, out_counts) -> n
 * The compiled twin of ciyu.template.pairs._merge_sorted (pass 2's merge of two pair
 * tables): keys_* are strictly increasing int64 arrays, counts_* their int64 counts; the
 * union of the keys, each with the sum of its counts, is written to the first n entries of
 * out_keys and out_counts (writable int64 arrays of at least both lengths together). One
 * linear merge without the GIL, where NumPy needs a search and two insertions. */
static PyObject *merge_counts(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *o[6];
    Py_buffer b[6];
    int got = 0;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5]))
        return NULL;
    if (int64_buffers(o, b, 6, 4, "merge_counts", &got) < 0) goto done;
    {
        const Py_ssize_t na = b[0].len / 8, nb = b[2].len / 8;
        if (b[1].len / 8 != na || b[3].len / 8 != nb || b[4].len / 8 < na + nb ||
            b[5].len / 8 < na + nb) {
            PyErr_SetString(PyExc_ValueError,
                            "merge_counts: each table's keys and counts must be as long, and "
                            "the output as long as both");
            goto done;
        }
        const int64_t *ka = b[0].buf, *ca = b[1].buf, *kb = b[2].buf, *cb = b[3].buf;
        int64_t *ko = b[4].buf, *co = b[5].buf;
        for (Py_ssize_t i = 1; i < na; i++)
            if (ka[i] <= ka[i - 1]) goto unsorted;
        for (Py_ssize_t i = 1; i < nb; i++)
            if (kb[i] <= kb[i - 1]) goto unsorted;
        Py_ssize_t i = 0, j = 0, n = 0;
        Py_BEGIN_ALLOW_THREADS
        while (i < na && j < nb) {
            if (ka[i] < kb[j]) {
                ko[n] = ka[i];
                co[n++] = ca[i++];
            } else if (kb[j] < ka[i]) {
                ko[n] = kb[j];
                co[n++] = cb[j++];
            } else {
                ko[n] = ka[i];
                co[n++] = ca[i++] + cb[j++];
            }
        }
        for (; i < na; i++, n++) {
            ko[n] = ka[i];
            co[n] = ca[i];
        }
        for (; j < nb; j++, n++) {
            ko[n] = kb[j];
            co[n] = cb[j];
        }
        Py_END_ALLOW_THREADS
        result = PyLong_FromSsize_t(n);
        goto done;
    }
unsorted:
    PyErr_SetString(PyExc_ValueError, "merge_counts: keys must be strictly increasing");
done:
    for (int k = 0; k < got; k++) PyBuffer_Release(&b[k]);
    return result;
}

/* pair_counts(ids, clauses, max_distance, n_buckets, n_vocab, left, right, slots) -> bytes
 * The compiled twin of pass 2's map (ciyu.template.pairs.PairPass.map over the slots of
 * chunk_pairs): ids (int64) is the vocabulary id of every word of a chunk (-1: none),
 * clauses (int64) its clause number, which never decreases along the chunk. Every pair
 * slot (i, j), 0 < j - i <= max_distance and clauses[j] - clauses[i] <= 1, is counted in
 * slots[bucket], left[ids[i] * n_buckets + bucket] when ids[i] >= 0 and
 * right[ids[j] * n_buckets + bucket] when ids[j] >= 0 (writable int64 arrays, added to);
 * the result holds, as int64, the key (ids[i] * n_vocab + ids[j]) * n_buckets + bucket of
 * every slot whose two words have ids, slot after slot (i, then j, ascending). The bucket
 * of a distance d is the bit length of d - 1 (ciyu.template.options.bucket). The slots
 * are walked without the GIL, and never materialised: NumPy made three arrays of them. */
static PyObject *pair_counts(PyObject *module, PyObject *args) {
    (void)module;
    PyObject *o[5];
    Py_buffer b[5];
    Py_ssize_t max_distance, n_buckets, n_vocab;
    int got = 0;
    PyObject *result = NULL;
    int64_t *keys = NULL;
    if (!PyArg_ParseTuple(args, "OOnnnOOO", &o[0], &o[1], &max_distance, &n_buckets, &n_vocab,
                          &o[2], &o[3], &o[4]))
        return NULL;
    if (int64_buffers(o, b, 5, 2, "pair_counts", &got) < 0) goto done;
    {
        const Py_ssize_t n = b[0].len / 8;
        if (max_distance < 1 || max_distance > INT32_MAX || n_buckets < 1 || n_vocab < 0 ||
            bit_length((int32_t)(max_distance - 1)) >= n_buckets ||
            b[1].len / 8 != n || b[2].len / 8 != n_vocab * n_buckets ||
            b[3].len / 8 != n_vocab * n_buckets || b[4].len / 8 != n_buckets ||
            (n_vocab > 0 && n_vocab > INT64_MAX / n_vocab / n_buckets)) {
            PyErr_SetString(PyExc_ValueError,
                            "pair_counts: ids and clauses must be as long, left and right "
                            "n_vocab * n_buckets long, slots n_buckets long, and every "
                            "distance's bucket below n_buckets");
            goto done;
        }
        const int64_t *ids = b[0].buf, *clauses = b[1].buf;
        int64_t *left = b[2].buf, *right = b[3].buf, *slots = b[4].buf;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (ids[i] < -1 || ids[i] >= n_vocab) {
                PyErr_SetString(PyExc_ValueError, "pair_counts: an id out of the vocabulary");
                goto done;
            }
            if (i && clauses[i] < clauses[i - 1]) {
                PyErr_SetString(PyExc_ValueError, "pair_counts: clause numbers decrease");
                goto done;
            }
        }
        const Py_ssize_t dmax = max_distance < n ? max_distance : (n > 1 ? n - 1 : 1);
        int64_t *bucket_of = alloc_array(dmax + 1, sizeof(int64_t)); /* by distance */
        if (!bucket_of) {
            PyErr_NoMemory();
            goto done;
        }
        for (Py_ssize_t d = 1; d <= dmax; d++) bucket_of[d] = bit_length((int32_t)(d - 1));
        Py_ssize_t len = 0, cap = 0;
        int short_of_memory = 0;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < n && !short_of_memory; i++) {
            const int64_t a = ids[i], last = clauses[i] + 1;
            const Py_ssize_t stop = n - 1 - i < max_distance ? n - 1 - i : max_distance;
            for (Py_ssize_t d = 1; d <= stop; d++) {
                const Py_ssize_t j = i + d;
                if (clauses[j] > last) break; /* clauses never decrease: none further */
                const int64_t bk = bucket_of[d];
                const int64_t c = ids[j];
                slots[bk]++;
                if (a >= 0) left[a * n_buckets + bk]++;
                if (c >= 0) right[c * n_buckets + bk]++;
                if (a >= 0 && c >= 0) {
                    if (len == cap) {
                        Py_ssize_t more = cap ? 2 * cap : 1 << 16;
                        int64_t *grown = realloc(keys, (size_t)more * sizeof(int64_t));
                        if (!grown) {
                            short_of_memory = 1;
                            break;
                        }
                        keys = grown;
                        cap = more;
                    }
                    keys[len++] = (a * n_vocab + c) * n_buckets + bk;
                }
            }
        }
        Py_END_ALLOW_THREADS
        free(bucket_of);
        if (short_of_memory) {
            PyErr_NoMemory();
            goto done;
        }
        result = bytes_of(keys, len, sizeof(int64_t));
    }
done:
    free(keys);
    for (int k = 0; k < got; k++) PyBuffer_Release(&b[k]);
    return result;
}

static PyMethodDef module_methods[] = {
    {"merge_counts", (PyCFunction)merge_counts, METH_VARARGS,
     "merge_counts(keys_a, counts_a, keys_b, counts_b, out_keys, out_counts) -> n: the merge "
     "of two sorted pair tables (ciyu.template.pairs._merge_sorted)"},
    {"pair_counts", (PyCFunction)pair_counts, METH_VARARGS,
     "pair_counts(ids, clauses, max_distance, n_buckets, n_vocab, left, right, slots) -> "
     "bytes: the pair slots of a chunk counted (ciyu.template.pairs.PairPass.map)"},
    {"template_counts", (PyCFunction)template_counts, METH_VARARGS,
     "template_counts(keys, vocab, classes, clauses, offsets, edges, key_bytes, key_off, "
     "n_vocab, max_fixed, max_gaps, max_distance, max_paths, trivial, n_buckets, punct, "
     "opener, closer, boundary, frequent=None, hashes_only=False) -> (item_off, items, "
     "stat_off, stats, slot_off, opened, hashes): the template counts of a chunk "
     "(ciyu.template.mining.TemplatePass.map); with hashes_only, the code hash of every "
     "occurrence"},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef Parser_methods[] = {
    {"applications", (PyCFunction)Parser_applications, METH_VARARGS,
     "applications(ids, classes, clauses, clause_end, offsets) -> the applications "
     "(sentence, template, slots) of the best parse of every sentence of a chunk"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ParserType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ciyu._tparse.Parser",
    .tp_basicsize = sizeof(Parser),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Parser(...): the flattened template trie (made by "
              "ciyu.template.parser.FlatTrie); immutable, safe to share between threads",
    .tp_new = Parser_new,
    .tp_dealloc = (destructor)Parser_dealloc,
    .tp_methods = Parser_methods,
};

static struct PyModuleDef tparse_module = {
    PyModuleDef_HEAD_INIT, "_tparse",
    "The compiled twin of the template parse passes (ciyu.template.parser: "
    "TemplateTrie.matches and best_cover; the Python code is the reference).",
    -1, module_methods,
};

PyMODINIT_FUNC PyInit__tparse(void) {
    PyObject *m = PyModule_Create(&tparse_module);
    if (!m) return NULL;
    if (PyType_Ready(&ParserType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&ParserType);
    if (PyModule_AddObject(m, "Parser", (PyObject *)&ParserType) < 0) {
        Py_DECREF(&ParserType);
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddIntConstant(m, "MAX_DEPTH", MAX_DEPTH) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
