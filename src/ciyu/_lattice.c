/*
 * ciyu._lattice: the compiled twin of ciyu.decoder.Decoder.boundaries.
 *
 * A trie over code points holds the lexicon: node 0 is the root, every other node is
 * reached by one character from its parent, and carries the log-probability of the word
 * it spells (or NAN when it only is a prefix). Children are found in one open-addressing
 * hash table keyed by (parent node, code point). The dynamic programme visits start
 * positions and trie paths in exactly the order of the Python reference and compares
 * with the same strict ">", so both return the same segmentation, ties included.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A hash table slot: the key of an edge (slot_key), 0 when empty, and the child node it
 * leads to; packed to 12 bytes, read in one access. */
#pragma pack(push, 4)
typedef struct {
    uint64_t key;
    int32_t child;
} Slot;
#pragma pack(pop)

typedef struct {
    PyObject_HEAD
    Slot *slots;
    int max_load4;   /* the table is kept at most max_load4 quarters full */
    uint64_t mask;
    double *logp;    /* per node; NAN if the node is not a word */
    int32_t n_nodes;
    int32_t capacity;
    double unk;
    Py_ssize_t max_len;
} Lattice;

static uint64_t hash64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* The hash key of the edge from node by character ch (never 0, which marks a free slot). */
static inline uint64_t slot_key(int32_t node, Py_UCS4 ch) {
    return (((uint64_t)node << 21) | ch) + 1;
}

static int32_t find_child(const Lattice *t, int32_t node, Py_UCS4 ch) {
    uint64_t key = slot_key(node, ch);
    uint64_t i = hash64(key) & t->mask;
    for (;;) {
        const Slot *s = &t->slots[i];
        if (s->key == key) return s->child;
        if (s->key == 0) return -1;
        i = (i + 1) & t->mask;
    }
}

static void insert_slot(Slot *slots, uint64_t mask, uint64_t key, int32_t child) {
    uint64_t i = hash64(key) & mask;
    while (slots[i].key != 0) i = (i + 1) & mask;
    slots[i].key = key;
    slots[i].child = child;
}

/* Room for one more node: the node array and the hash table (kept at most half or three
 * quarters full) grow by doubling, so memory follows the number of distinct prefixes, not
 * the total length of the words. Returns -1 with MemoryError set. */
static int reserve_node(Lattice *t) {
    if (t->n_nodes >= INT32_MAX - 1) {
        PyErr_SetString(PyExc_MemoryError, "lexicon too large for the compiled decoder");
        return -1;
    }
    if (t->n_nodes + 1 > t->capacity) {
        int64_t cap = (int64_t)t->capacity * 2;
        if (cap > INT32_MAX) cap = INT32_MAX;
        double *logp = realloc(t->logp, sizeof(double) * (size_t)cap);
        if (!logp) {
            PyErr_NoMemory();
            return -1;
        }
        t->logp = logp;
        t->capacity = (int32_t)cap;
    }
    if ((uint64_t)(t->n_nodes + 1) * 4 > (t->mask + 1) * (uint64_t)t->max_load4) {
        uint64_t cap = (t->mask + 1) * 2;
        Slot *slots = calloc(cap, sizeof(Slot));
        if (!slots) {
            PyErr_NoMemory();
            return -1;
        }
        for (uint64_t i = 0; i <= t->mask; i++)
            if (t->slots[i].key != 0) insert_slot(slots, cap - 1, t->slots[i].key, t->slots[i].child);
        free(t->slots);
        t->slots = slots;
        t->mask = cap - 1;
    }
    return 0;
}

/* Add the word c[0..len) with log-probability lp (the last one given wins). */
static int add_word(Lattice *t, const Py_UCS4 *c, Py_ssize_t len, double lp) {
    if (len > t->max_len) t->max_len = len;
    int32_t node = 0;
    for (Py_ssize_t j = 0; j < len; j++) {
        int32_t next = find_child(t, node, c[j]);
        if (next < 0) {
            if (reserve_node(t) < 0) return -1;
            next = t->n_nodes++;
            t->logp[next] = NAN;
            insert_slot(t->slots, t->mask, slot_key(node, c[j]), next);
        }
        node = next;
    }
    if (len > 0) t->logp[node] = lp;
    return 0;
}

static void Lattice_dealloc(Lattice *self) {
    free(self->slots);
    free(self->logp);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Lattice(words: list[str], logps: list[float], unk: float, compact: bool = False)
 * compact keeps the hash table up to three quarters full instead of half: about 40% less
 * memory for the very large tables of training, a little slower to search. */
static int Lattice_init(Lattice *self, PyObject *args, PyObject *kwds) {
    PyObject *words, *logps;
    double unk;
    int compact = 0;
    if (!PyArg_ParseTuple(args, "O!O!d|p", &PyList_Type, &words, &PyList_Type, &logps, &unk,
                          &compact))
        return -1;
    Py_ssize_t n = PyList_GET_SIZE(words);
    if (PyList_GET_SIZE(logps) != n) {
        PyErr_SetString(PyExc_ValueError, "words and logps differ in length");
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyUnicode_Check(PyList_GET_ITEM(words, i))) {
            PyErr_SetString(PyExc_TypeError, "words must be str");
            return -1;
        }
    }
    uint64_t cap = 1024;
    free(self->slots);
    free(self->logp);
    self->slots = calloc(cap, sizeof(Slot));
    self->logp = malloc(sizeof(double) * cap);
    self->max_load4 = compact ? 3 : 2;
    if (!self->slots || !self->logp) {
        PyErr_NoMemory();
        return -1;
    }
    self->mask = cap - 1;
    self->capacity = (int32_t)cap;
    self->n_nodes = 1;
    self->logp[0] = NAN;
    self->unk = unk;
    self->max_len = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *w = PyList_GET_ITEM(words, i);
        double lp = PyFloat_AsDouble(PyList_GET_ITEM(logps, i));
        if (lp == -1.0 && PyErr_Occurred()) return -1;
        Py_UCS4 *c = PyUnicode_AsUCS4Copy(w);
        if (!c) return -1;
        int rc = add_word(self, c, PyUnicode_GET_LENGTH(w), lp);
        PyMem_Free(c);
        if (rc < 0) return -1;
    }
    return 0;
}

/* extend_codes(codes, k, logps): add n words of k characters each, given as a buffer of
 * n*k UCS-4 code points (a numpy "<Uk" array) and a buffer of n doubles, without creating
 * a Python object per word. */
static PyObject *Lattice_extend_codes(Lattice *self, PyObject *args) {
    Py_buffer codes, logps;
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "y*ny*", &codes, &k, &logps)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = logps.len / (Py_ssize_t)sizeof(double);
    if (k < 1 || logps.len != n * (Py_ssize_t)sizeof(double) ||
        codes.len != n * k * (Py_ssize_t)sizeof(Py_UCS4)) {
        PyErr_SetString(PyExc_ValueError, "extend_codes: expected n*k code points, n scores");
        goto done;
    }
    const Py_UCS4 *c = (const Py_UCS4 *)codes.buf;
    const double *lp = (const double *)logps.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        for (Py_ssize_t j = 0; j < k; j++) {
            if (c[i * k + j] == 0 || c[i * k + j] > 0x10FFFF) {
                PyErr_SetString(PyExc_ValueError, "extend_codes: invalid code point");
                goto done;
            }
        }
        if (add_word(self, c + i * k, k, lp[i]) < 0) goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&codes);
    PyBuffer_Release(&logps);
    return result;
}

/* The dynamic programme over s[0..n): writes the end offsets of the best segmentation
 * into ends (capacity n) and returns their number. best and back hold n + 1 entries. */
static Py_ssize_t dp_ends(const Lattice *self, const Py_UCS4 *s, Py_ssize_t n, double *best,
                          Py_ssize_t *back, Py_ssize_t *ends) {
    best[0] = 0.0;
    for (Py_ssize_t i = 1; i <= n; i++) best[i] = -INFINITY;
    back[0] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double base = best[i];
        int32_t node = find_child(self, 0, s[i]);
        double lp = (node >= 0 && !isnan(self->logp[node])) ? self->logp[node] : self->unk;
        double cand = base + lp;
        if (cand > best[i + 1]) {
            best[i + 1] = cand;
            back[i + 1] = i;
        }
        Py_ssize_t stop = i + self->max_len < n ? i + self->max_len : n;
        for (Py_ssize_t j = i + 2; node >= 0 && j <= stop; j++) {
            node = find_child(self, node, s[j - 1]);
            if (node < 0) break;
            lp = self->logp[node];
            if (!isnan(lp)) {
                cand = base + lp;
                if (cand > best[j]) {
                    best[j] = cand;
                    back[j] = i;
                }
            }
        }
    }
    Py_ssize_t count = 0;
    for (Py_ssize_t j = n; j > 0; j = back[j]) count++;
    Py_ssize_t k = count;
    for (Py_ssize_t j = n; j > 0; j = back[j]) ends[--k] = j;
    return count;
}

/* boundaries(s: str) -> list[int]: end offsets of the best segmentation of s */
static PyObject *Lattice_boundaries(Lattice *self, PyObject *arg) {
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "expected str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    if (n == 0) return PyList_New(0);
    Py_UCS4 *s = PyUnicode_AsUCS4Copy(arg);
    double *best = malloc(sizeof(double) * (n + 1));
    Py_ssize_t *back = malloc(sizeof(Py_ssize_t) * (n + 1));
    Py_ssize_t *ends = malloc(sizeof(Py_ssize_t) * n);
    PyObject *result = NULL;
    if (!s || !best || !back || !ends) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t count = dp_ends(self, s, n, best, back, ends);
    result = PyList_New(count);
    for (Py_ssize_t k = 0; result && k < count; k++) {
        PyObject *v = PyLong_FromSsize_t(ends[k]);
        if (!v) {
            Py_CLEAR(result);
            break;
        }
        PyList_SET_ITEM(result, k, v);
    }
done:
    PyMem_Free(s);
    free(best);
    free(back);
    free(ends);
    return result;
}

/* ---- the rule layer, for bulk segmentation ----------------------------------------
 * Character classes come from Python (ciyu.text.class_table), one byte per code point. */
enum { C_LEARN = 1, C_ATOM = 2, C_DIGIT = 4, C_MARK = 8, C_SPACE = 16, C_EXTEND = 32,
       C_REGIONAL = 64 };
enum { T_LEARN, T_NUM, T_ATOM, T_SPACE, T_OTHER };
#define NUM_SYMBOL 0xFDD0
#define ZWJ 0x200D

typedef struct {
    const unsigned char *cls;
    const Py_UCS4 *s;
    Py_ssize_t end;
} Scanner;

static inline int has(const Scanner *sc, Py_ssize_t i, int flags) {
    return i < sc->end && (sc->cls[sc->s[i]] & flags);
}
static inline int is_point(Py_UCS4 c) { return c == 0x2E || c == 0xFF0E; }
static inline int is_percent(Py_UCS4 c) { return c == 0x25 || c == 0xFF05 || c == 0x2030; }
/* ciyu.text.MINUS_RANGES */
static inline int is_minus(Py_UCS4 c) {
    return c == 0x2D || c == 0x2212 || c == 0xFE63 || c == 0xFF0D;
}

/* The end of the number starting at i, or -1: digits, decimal parts, an optional percent
 * sign, not followed by a letter, digit or mark (the regex's backtracking, unrolled). */
static Py_ssize_t scan_num(const Scanner *sc, Py_ssize_t i) {
    Py_ssize_t e = i;
    while (has(sc, e, C_DIGIT)) e++;
    Py_ssize_t rep_starts[64];
    int reps = 0;
    for (;;) {
        if (e + 1 < sc->end && is_point(sc->s[e]) && has(sc, e + 1, C_DIGIT)) {
            if (reps < 64) rep_starts[reps] = e;
            reps++;
            e++;
            while (has(sc, e, C_DIGIT)) e++;
        } else {
            break;
        }
    }
    if (reps > 64) return -1; /* absurd: let the atom rule take it, as it would */
    if (e < sc->end && is_percent(sc->s[e]) && !has(sc, e + 1, C_ATOM | C_MARK)) return e + 1;
    if (!has(sc, e, C_ATOM | C_MARK)) return e;
    if (reps > 0) return rep_starts[reps - 1]; /* next character is the decimal point */
    return -1;
}

static Py_ssize_t scan_atom(const Scanner *sc, Py_ssize_t i) {
    Py_ssize_t j = i;
    while (has(sc, j, C_ATOM)) j++;
    while (has(sc, j, C_MARK)) {
        while (has(sc, j, C_MARK)) j++;
        while (has(sc, j, C_ATOM)) j++;
    }
    while (j + 1 < sc->end && is_point(sc->s[j]) && has(sc, j + 1, C_DIGIT)) {
        j++;
        while (has(sc, j, C_DIGIT)) j++;
    }
    while (has(sc, j, C_MARK)) j++;
    return j;
}

/* The next token at i: its kind, and its end through *end. */
static int next_token(const Scanner *sc, Py_ssize_t i, Py_ssize_t *end) {
    Py_UCS4 c = sc->s[i];
    unsigned char f = sc->cls[c];
    Py_ssize_t j;
    if (f & C_LEARN) {
        j = i + 1;
        while (has(sc, j, C_LEARN)) j++;
        *end = j;
        return T_LEARN;
    }
    if (f & C_DIGIT) {
        j = scan_num(sc, i);
        if (j > i) {
            *end = j;
            return T_NUM;
        }
    }
    /* a sign: a minus not after a letter, digit or mark, right before a number */
    if (is_minus(c) && has(sc, i + 1, C_DIGIT) &&
        (i == 0 || !(sc->cls[sc->s[i - 1]] & (C_ATOM | C_MARK)))) {
        j = scan_num(sc, i + 1);
        if (j > i + 1) {
            *end = j;
            return T_NUM;
        }
    }
    if (f & C_ATOM) {
        *end = scan_atom(sc, i);
        return T_ATOM;
    }
    if (f & C_SPACE) {
        j = i + 1;
        while (has(sc, j, C_SPACE)) j++;
        *end = j;
        return T_SPACE;
    }
    if ((f & C_REGIONAL) && has(sc, i + 1, C_REGIONAL)) {
        *end = i + 2;
        return T_OTHER;
    }
    j = i + 1;
    while (j < sc->end && sc->s[j] == c) j++;
    for (;;) {
        if (has(sc, j, C_EXTEND)) {
            j++;
        } else if (j + 1 < sc->end && sc->s[j] == ZWJ) {
            j += 2;
        } else {
            break;
        }
    }
    *end = j;
    return T_OTHER;
}

typedef struct {
    Py_UCS4 *data;
    Py_ssize_t len, cap;
} Buffer;

static int buf_put(Buffer *b, const Py_UCS4 *src, Py_ssize_t n) {
    if (b->len + n > b->cap) {
        Py_ssize_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n) cap *= 2;
        Py_UCS4 *d = realloc(b->data, sizeof(Py_UCS4) * cap);
        if (!d) return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, sizeof(Py_UCS4) * n);
    b->len += n;
    return 0;
}

typedef struct {
    Buffer out;
    const Py_UCS4 *sep;
    Py_ssize_t sep_len;
    int line_started;
    /* the pending run of learnable text and numbers */
    Py_UCS4 *view;
    Py_ssize_t *unit_end; /* text offset where each view symbol ends */
    Py_ssize_t n_view;
    Py_ssize_t group_start;
    double *best;
    Py_ssize_t *back, *ends;
} Writer;

static int emit(Writer *w, const Py_UCS4 *s, Py_ssize_t a, Py_ssize_t b) {
    if (w->line_started && buf_put(&w->out, w->sep, w->sep_len) < 0) return -1;
    w->line_started = 1;
    return buf_put(&w->out, s + a, b - a);
}

static int flush_group(const Lattice *self, Writer *w, const Py_UCS4 *s) {
    if (w->n_view == 0) return 0;
    Py_ssize_t count = dp_ends(self, w->view, w->n_view, w->best, w->back, w->ends);
    Py_ssize_t start = w->group_start;
    for (Py_ssize_t k = 0; k < count; k++) {
        Py_ssize_t stop = w->unit_end[w->ends[k] - 1];
        if (emit(w, s, start, stop) < 0) return -1;
        start = stop;
    }
    w->n_view = 0;
    return 0;
}

/* segment(text: str, classes: bytes, sep: str) -> str
 * Every line of text (split at "\n") segmented, words joined by sep. */
static PyObject *Lattice_segment(Lattice *self, PyObject *args) {
    PyObject *text, *sep_obj;
    Py_buffer classes;
    if (!PyArg_ParseTuple(args, "Uy*U", &text, &classes, &sep_obj)) return NULL;
    PyObject *result = NULL;
    Py_UCS4 *s = NULL, *sep = NULL;
    Writer w;
    memset(&w, 0, sizeof(w));
    if (classes.len < 0x110000) {
        PyErr_SetString(PyExc_ValueError, "class table must cover all code points");
        goto done;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    s = PyUnicode_AsUCS4Copy(text);
    sep = PyUnicode_AsUCS4Copy(sep_obj);
    w.view = malloc(sizeof(Py_UCS4) * (n + 1));
    w.unit_end = malloc(sizeof(Py_ssize_t) * (n + 1));
    w.best = malloc(sizeof(double) * (n + 2));
    w.back = malloc(sizeof(Py_ssize_t) * (n + 2));
    w.ends = malloc(sizeof(Py_ssize_t) * (n + 1));
    if (!s || !sep || !w.view || !w.unit_end || !w.best || !w.back || !w.ends) {
        PyErr_NoMemory();
        goto done;
    }
    w.sep = sep;
    w.sep_len = PyUnicode_GET_LENGTH(sep_obj);
    Scanner sc = {(const unsigned char *)classes.buf, s, 0};
    Py_ssize_t line = 0;
    while (line <= n) {
        Py_ssize_t eol = line;
        while (eol < n && s[eol] != '\n') eol++;
        sc.end = eol;
        w.line_started = 0;
        w.n_view = 0;
        Py_ssize_t i = line;
        while (i < eol) {
            Py_ssize_t end;
            int kind = next_token(&sc, i, &end);
            if (kind == T_LEARN || kind == T_NUM) {
                if (w.n_view == 0) w.group_start = i;
                if (kind == T_NUM) {
                    w.view[w.n_view] = NUM_SYMBOL;
                    w.unit_end[w.n_view++] = end;
                } else {
                    for (Py_ssize_t k = i; k < end; k++) {
                        w.view[w.n_view] = s[k];
                        w.unit_end[w.n_view++] = k + 1;
                    }
                }
            } else {
                if (flush_group(self, &w, s) < 0 || emit(&w, s, i, end) < 0) {
                    PyErr_NoMemory();
                    goto done;
                }
            }
            i = end;
        }
        if (flush_group(self, &w, s) < 0) {
            PyErr_NoMemory();
            goto done;
        }
        if (eol < n) {
            Py_UCS4 nl = '\n';
            if (buf_put(&w.out, &nl, 1) < 0) {
                PyErr_NoMemory();
                goto done;
            }
        }
        line = eol + 1;
    }
    result = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, w.out.data ? w.out.data : s,
                                       w.out.len);
done:
    PyBuffer_Release(&classes);
    PyMem_Free(s);
    PyMem_Free(sep);
    free(w.out.data);
    free(w.view);
    free(w.unit_end);
    free(w.best);
    free(w.back);
    free(w.ends);
    return result;
}

static PyMethodDef Lattice_methods[] = {
    {"extend_codes", (PyCFunction)Lattice_extend_codes, METH_VARARGS,
     "extend_codes(codes, k, logps): add words of k characters given as code points"},
    {"boundaries", (PyCFunction)Lattice_boundaries, METH_O,
     "boundaries(s) -> list of the end offsets of the best segmentation of s"},
    {"segment", (PyCFunction)Lattice_segment, METH_VARARGS,
     "segment(text, classes, sep) -> every line of text, its words joined by sep"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LatticeType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ciyu._lattice.Lattice",
    .tp_basicsize = sizeof(Lattice),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Lattice(words, logps, unk): compiled maximum-probability segmenter",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Lattice_init,
    .tp_dealloc = (destructor)Lattice_dealloc,
    .tp_methods = Lattice_methods,
};

/* learnable_view(text: str, classes: bytes) -> str
 * The compiled twin of ciyu.text.learnable_view: learnable runs as they are, each number
 * as NUM_SYMBOL, every other token as one "\0". */
static PyObject *learnable_view(PyObject *module, PyObject *args) {
    PyObject *text;
    Py_buffer classes;
    if (!PyArg_ParseTuple(args, "Uy*", &text, &classes)) return NULL;
    PyObject *result = NULL;
    Py_UCS4 *s = NULL, *out = NULL;
    if (classes.len < 0x110000) {
        PyErr_SetString(PyExc_ValueError, "class table must cover all code points");
        goto done;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    s = PyUnicode_AsUCS4Copy(text);
    out = PyMem_Malloc(sizeof(Py_UCS4) * (n + 1));
    if (!s || !out) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    Scanner sc = {(const unsigned char *)classes.buf, s, n};
    Py_ssize_t len = 0;
    for (Py_ssize_t i = 0; i < n;) {
        Py_ssize_t end;
        int kind = next_token(&sc, i, &end);
        if (kind == T_LEARN) {
            memcpy(out + len, s + i, sizeof(Py_UCS4) * (size_t)(end - i));
            len += end - i;
        } else {
            out[len++] = kind == T_NUM ? NUM_SYMBOL : 0;
        }
        i = end;
    }
    result = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out, len);
done:
    PyBuffer_Release(&classes);
    PyMem_Free(s);
    PyMem_Free(out);
    return result;
}

/* tag_viterbi(em, order, lengths, join) -> list[list[int]]
 *
 * The compiled twin of ciyu.learners.lm.viterbi, for every fragment of a chunk at once.
 * em is a C-contiguous buffer of doubles of shape (order, total): the emissions of the
 * fragments laid out one after the other with one separator column between them (their
 * "\0"-joined view). lengths gives each fragment's length; join the order prices. The
 * arithmetic and the tie-breaking (first maximum, strict ">") are those of the reference,
 * so both return the same ends. */
static PyObject *tag_viterbi(PyObject *module, PyObject *args) {
    Py_buffer em;
    int order;
    PyObject *lengths, *join_list;
    if (!PyArg_ParseTuple(args, "y*iO!O!", &em, &order, &PyList_Type, &lengths, &PyList_Type,
                          &join_list))
        return NULL;
    PyObject *result = NULL;
    double join[64];
    double *score = NULL, *next = NULL;
    unsigned char *back = NULL;
    Py_ssize_t n_frags = PyList_GET_SIZE(lengths);
    Py_ssize_t total = em.len / (Py_ssize_t)sizeof(double) / (order > 0 ? order : 1);
    if (order < 1 || order > 64 || PyList_GET_SIZE(join_list) != order ||
        em.len != (Py_ssize_t)sizeof(double) * order * total) {
        PyErr_SetString(PyExc_ValueError, "tag_viterbi: bad shapes");
        goto done;
    }
    for (int k = 0; k < order; k++) {
        join[k] = PyFloat_AsDouble(PyList_GET_ITEM(join_list, k));
        if (join[k] == -1.0 && PyErr_Occurred()) goto done;
    }
    const double *e = (const double *)em.buf;
    score = malloc(sizeof(double) * order);
    next = malloc(sizeof(double) * order);
    Py_ssize_t back_cap = 0;
    result = PyList_New(n_frags);
    if (!result || !score || !next) goto fail;
    Py_ssize_t pos = 0;
    const int last = order - 1;
    for (Py_ssize_t f = 0; f < n_frags; f++) {
        Py_ssize_t n = PyLong_AsSsize_t(PyList_GET_ITEM(lengths, f));
        if (n < 0) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "negative length");
            goto fail;
        }
        if (pos + n > total) {
            PyErr_SetString(PyExc_ValueError, "tag_viterbi: lengths exceed the emissions");
            goto fail;
        }
        if (n == 0) {
            PyObject *empty = PyList_New(0);
            if (!empty) goto fail;
            PyList_SET_ITEM(result, f, empty);
            pos += 1;
            continue;
        }
        if (n * order > back_cap) {
            back_cap = n * order * 2;
            unsigned char *b = realloc(back, (size_t)back_cap);
            if (!b) {
                PyErr_NoMemory();
                goto fail;
            }
            back = b;
        }
        for (int k = 0; k < order; k++) score[k] = -1e300;
        score[0] = e[pos];
        for (Py_ssize_t j = 1; j < n; j++) {
            int best_tag = 0;
            for (int k = 1; k < order; k++)
                if (score[k] > score[best_tag]) best_tag = k;
            unsigned char *ptr = back + (j - 1) * order;
            next[0] = score[best_tag] + e[pos + j];
            ptr[0] = (unsigned char)best_tag;
            for (int k = 1; k < order; k++) {
                double cand = score[k - 1] - join[k - 1];
                int src = k - 1;
                if (k == last && score[last] - join[last] > cand) {
                    cand = score[last] - join[last];
                    src = last;
                }
                next[k] = cand + e[(Py_ssize_t)k * total + pos + j];
                ptr[k] = (unsigned char)src;
            }
            double *tmp = score;
            score = next;
            next = tmp;
        }
        int tag = 0;
        for (int k = 1; k < order; k++)
            if (score[k] > score[tag]) tag = k;
        Py_ssize_t count = 1;
        for (Py_ssize_t j = n - 1, t = tag; j > 0; j--) {
            if (t == 0) count++;
            t = back[(j - 1) * order + t];
        }
        PyObject *ends = PyList_New(count);
        if (!ends) goto fail;
        Py_ssize_t k = count - 1;
        PyObject *end = PyLong_FromSsize_t(n);
        if (!end) {
            Py_DECREF(ends);
            goto fail;
        }
        PyList_SET_ITEM(ends, k--, end);
        for (Py_ssize_t j = n - 1, t = tag; j > 0; j--) {
            if (t == 0) {
                PyObject *v = PyLong_FromSsize_t(j);
                if (!v) {
                    Py_DECREF(ends);
                    goto fail;
                }
                PyList_SET_ITEM(ends, k--, v);
            }
            t = back[(j - 1) * order + t];
        }
        PyList_SET_ITEM(result, f, ends);
        pos += n + 1;
    }
    goto done;
fail:
    Py_CLEAR(result);
done:
    PyBuffer_Release(&em);
    free(score);
    free(next);
    free(back);
    return result;
}

static PyMethodDef module_methods[] = {
    {"learnable_view", (PyCFunction)learnable_view, METH_VARARGS,
     "learnable_view(text, classes) -> the text the learners see (ciyu.text.learnable_view)"},
    {"tag_viterbi", (PyCFunction)tag_viterbi, METH_VARARGS,
     "tag_viterbi(em, order, lengths, join) -> word ends of each fragment (lm learner)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef lattice_module = {
    PyModuleDef_HEAD_INIT, "_lattice",
    "Compiled twins of ciyu.decoder and of the lm learner's Viterbi (the Python code is the "
    "reference).",
    -1, module_methods,
};

PyMODINIT_FUNC PyInit__lattice(void) {
    if (PyType_Ready(&LatticeType) < 0) return NULL;
    PyObject *m = PyModule_Create(&lattice_module);
    if (!m) return NULL;
    Py_INCREF(&LatticeType);
    if (PyModule_AddObject(m, "Lattice", (PyObject *)&LatticeType) < 0) {
        Py_DECREF(&LatticeType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
