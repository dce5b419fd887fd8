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

/* boundaries(s: str) -> list[int]: end offsets of the best segmentation of s */
static PyObject *Lattice_boundaries(Lattice *self, PyObject *arg) {
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "expected str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    if (n == 0) return PyList_New(0);
    int kind = PyUnicode_KIND(arg);
    const void *data = PyUnicode_DATA(arg);
    double *best = malloc(sizeof(double) * (n + 1));
    Py_ssize_t *back = malloc(sizeof(Py_ssize_t) * (n + 1));
    if (!best || !back) {
        free(best);
        free(back);
        return PyErr_NoMemory();
    }
    best[0] = 0.0;
    for (Py_ssize_t i = 1; i <= n; i++) best[i] = -INFINITY;
    back[0] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double base = best[i];
        int32_t node = find_child(self, 0, PyUnicode_READ(kind, data, i));
        double lp = (node >= 0 && !isnan(self->logp[node])) ? self->logp[node] : self->unk;
        double cand = base + lp;
        if (cand > best[i + 1]) {
            best[i + 1] = cand;
            back[i + 1] = i;
        }
        Py_ssize_t stop = i + self->max_len < n ? i + self->max_len : n;
        for (Py_ssize_t j = i + 2; node >= 0 && j <= stop; j++) {
            node = find_child(self, node, PyUnicode_READ(kind, data, j - 1));
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
    PyObject *ends = PyList_New(count);
    if (ends) {
        Py_ssize_t k = count;
        for (Py_ssize_t j = n; j > 0; j = back[j]) {
            PyObject *v = PyLong_FromSsize_t(j);
            if (!v) {
                Py_DECREF(ends);
                ends = NULL;
                break;
            }
            PyList_SET_ITEM(ends, --k, v);
        }
    }
    free(best);
    free(back);
    return ends;
}

static PyMethodDef Lattice_methods[] = {
    {"boundaries", (PyCFunction)Lattice_boundaries, METH_O,
     "boundaries(s) -> list of the end offsets of the best segmentation of s"},
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
