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

typedef struct {
    uint64_t key; /* (parent << 21 | code point) + 1; 0 marks an empty slot */
    int32_t child;
} Slot;

typedef struct {
    PyObject_HEAD
    Slot *slots;
    uint64_t mask;
    double *logp;   /* per node; NAN if the node is not a word */
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

static int32_t find_child(const Lattice *t, int32_t node, Py_UCS4 ch) {
    uint64_t key = (((uint64_t)node << 21) | ch) + 1;
    uint64_t i = hash64(key) & t->mask;
    for (;;) {
        const Slot *s = &t->slots[i];
        if (s->key == key) return s->child;
        if (s->key == 0) return -1;
        i = (i + 1) & t->mask;
    }
}

static int insert_child(Lattice *t, int32_t node, Py_UCS4 ch, int32_t child) {
    uint64_t key = (((uint64_t)node << 21) | ch) + 1;
    uint64_t i = hash64(key) & t->mask;
    while (t->slots[i].key != 0) i = (i + 1) & t->mask;
    t->slots[i].key = key;
    t->slots[i].child = child;
    return 0;
}

static void Lattice_dealloc(Lattice *self) {
    free(self->slots);
    free(self->logp);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Lattice(words: list[str], logps: list[float], unk: float) */
static int Lattice_init(Lattice *self, PyObject *args, PyObject *kwds) {
    PyObject *words, *logps;
    double unk;
    if (!PyArg_ParseTuple(args, "O!O!d", &PyList_Type, &words, &PyList_Type, &logps, &unk))
        return -1;
    Py_ssize_t n = PyList_GET_SIZE(words);
    if (PyList_GET_SIZE(logps) != n) {
        PyErr_SetString(PyExc_ValueError, "words and logps differ in length");
        return -1;
    }
    Py_ssize_t total = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *w = PyList_GET_ITEM(words, i);
        if (!PyUnicode_Check(w)) {
            PyErr_SetString(PyExc_TypeError, "words must be str");
            return -1;
        }
        total += PyUnicode_GET_LENGTH(w);
    }
    if (total > INT32_MAX / 2) {
        PyErr_SetString(PyExc_MemoryError, "lexicon too large for the compiled decoder");
        return -1;
    }
    uint64_t cap = 16;
    while (cap < (uint64_t)total * 2) cap <<= 1;
    free(self->slots);
    free(self->logp);
    self->slots = calloc(cap, sizeof(Slot));
    self->logp = malloc(sizeof(double) * total);
    if (!self->slots || !self->logp) {
        PyErr_NoMemory();
        return -1;
    }
    self->mask = cap - 1;
    self->capacity = (int32_t)total;
    self->n_nodes = 1;
    self->logp[0] = NAN;
    self->unk = unk;
    self->max_len = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *w = PyList_GET_ITEM(words, i);
        double lp = PyFloat_AsDouble(PyList_GET_ITEM(logps, i));
        if (lp == -1.0 && PyErr_Occurred()) return -1;
        Py_ssize_t len = PyUnicode_GET_LENGTH(w);
        if (len > self->max_len) self->max_len = len;
        int kind = PyUnicode_KIND(w);
        const void *data = PyUnicode_DATA(w);
        int32_t node = 0;
        for (Py_ssize_t j = 0; j < len; j++) {
            Py_UCS4 ch = PyUnicode_READ(kind, data, j);
            int32_t child = find_child(self, node, ch);
            if (child < 0) {
                child = self->n_nodes++;
                self->logp[child] = NAN;
                insert_child(self, node, ch, child);
            }
            node = child;
        }
        if (len > 0) self->logp[node] = lp;
    }
    return 0;
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

static struct PyModuleDef lattice_module = {
    PyModuleDef_HEAD_INIT, "_lattice",
    "Compiled twin of ciyu.decoder (see ciyu/decoder.py for the reference).", -1, NULL,
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
