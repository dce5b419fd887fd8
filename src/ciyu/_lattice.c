/*
 * ciyu._lattice: the compiled twins of ciyu.decoder.Decoder.boundaries, of the rule layer
 * (ciyu.text) and of the lm learner's Viterbi. The Python code is the reference.
 *
 * Lattice: a trie over code points holds the lexicon: node 0 is the root, every other
 * node is reached by one character from its parent and carries a flag (is it a word?) and
 * the log-probability of the word it spells. Children are found in one open-addressing
 * hash table keyed by (parent node, code point). The dynamic programme visits start
 * positions and trie paths in exactly the order of the Python reference and compares with
 * the same strict ">", so both return the same segmentation, ties included.
 *
 * Rules: the rule layer as a deterministic automaton, built in Python from the one
 * description of the rules (ciyu.text.RULES, compiled by ciyu._grammar.compile_rules).
 * This file knows no character and no rule: it runs the tables it is given.
 *
 * Threads: a Rules object never changes after construction; a Lattice changes only by
 * extend_codes, which is refused once the lattice has been used (boundaries, segment).
 * So the heavy loops (segment, learnable_view, long boundaries) run without the GIL, and
 * several threads can segment with one model at once.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N_CODE_POINTS 0x110000
/* shorter strings keep the GIL: releasing it costs more than it saves (the learners call
 * learnable_view once per line) */
#define NOGIL_MIN_CHARS 256
#define MAYBE_WITHOUT_GIL(n, statement)       \
    do {                                       \
        if ((n) >= NOGIL_MIN_CHARS) {          \
            Py_BEGIN_ALLOW_THREADS statement;  \
            Py_END_ALLOW_THREADS               \
        } else {                               \
            statement;                         \
        }                                      \
    } while (0)

/* malloc(count * size), or NULL when the product overflows (or memory is short). */
static void *alloc_array(Py_ssize_t count, size_t size) {
    if (count < 0 || (count > 0 && (size_t)count > SIZE_MAX / size)) return NULL;
    return malloc(count > 0 ? (size_t)count * size : 1);
}

/* ---- the lexicon trie ------------------------------------------------------------- */

/* A hash table slot: the key of an edge (slot_key), 0 when empty, and the child node it
 * leads to; packed to 12 bytes, read in one access. */
#pragma pack(push, 4)
typedef struct {
    uint64_t key;
    int32_t child;
} Slot;
#pragma pack(pop)

typedef struct {
    Slot *slots;
    uint64_t mask;
    int max_load4;   /* the table is kept at most max_load4 quarters full */
    double *logp;    /* per node: the word's log-probability (when is_word) */
    uint8_t *is_word; /* per node: 1 if the node spells a word of the lexicon */
    int32_t n_nodes;
    int32_t capacity;
    Py_ssize_t max_len;
} Trie;

typedef struct {
    PyObject_HEAD
    Trie trie;
    double unk;
    int frozen; /* set by the first use: from then on the trie never changes */
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

static int32_t find_child(const Trie *t, int32_t node, Py_UCS4 ch) {
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

static void trie_free(Trie *t) {
    free(t->slots);
    free(t->logp);
    free(t->is_word);
    memset(t, 0, sizeof(*t));
}

/* An empty trie (the root only). Returns -1 with MemoryError set. */
static int trie_init(Trie *t, int compact) {
    const uint64_t cap = 1024;
    memset(t, 0, sizeof(*t));
    t->slots = calloc(cap, sizeof(Slot));
    t->logp = alloc_array((Py_ssize_t)cap, sizeof(double));
    t->is_word = calloc(cap, 1);
    if (!t->slots || !t->logp || !t->is_word) {
        trie_free(t);
        PyErr_NoMemory();
        return -1;
    }
    t->max_load4 = compact ? 3 : 2;
    t->mask = cap - 1;
    t->capacity = (int32_t)cap;
    t->n_nodes = 1;
    t->logp[0] = 0.0;
    t->max_len = 1;
    return 0;
}

/* Room for one more node: the node arrays and the hash table (kept at most half or three
 * quarters full) grow by doubling, so memory follows the number of distinct prefixes, not
 * the total length of the words. Returns -1 with MemoryError set. */
static int reserve_node(Trie *t) {
    if (t->n_nodes >= INT32_MAX - 1) {
        PyErr_SetString(PyExc_MemoryError, "lexicon too large for the compiled decoder");
        return -1;
    }
    if (t->n_nodes + 1 > t->capacity) {
        int64_t cap = (int64_t)t->capacity * 2;
        if (cap > INT32_MAX) cap = INT32_MAX;
        double *logp = realloc(t->logp, sizeof(double) * (size_t)cap);
        if (!logp) return PyErr_NoMemory(), -1;
        t->logp = logp;
        uint8_t *is_word = realloc(t->is_word, (size_t)cap);
        if (!is_word) return PyErr_NoMemory(), -1;
        memset(is_word + t->capacity, 0, (size_t)(cap - t->capacity));
        t->is_word = is_word;
        t->capacity = (int32_t)cap;
    }
    if ((uint64_t)(t->n_nodes + 1) * 4 > (t->mask + 1) * (uint64_t)t->max_load4) {
        uint64_t cap = (t->mask + 1) * 2;
        Slot *slots = calloc(cap, sizeof(Slot));
        if (!slots) return PyErr_NoMemory(), -1;
        for (uint64_t i = 0; i <= t->mask; i++)
            if (t->slots[i].key != 0) insert_slot(slots, cap - 1, t->slots[i].key, t->slots[i].child);
        free(t->slots);
        t->slots = slots;
        t->mask = cap - 1;
    }
    return 0;
}

/* Add the word c[0..len) with log-probability lp (the last one given wins). */
static int add_word(Trie *t, const Py_UCS4 *c, Py_ssize_t len, double lp) {
    if (len > t->max_len) t->max_len = len;
    int32_t node = 0;
    for (Py_ssize_t j = 0; j < len; j++) {
        int32_t next = find_child(t, node, c[j]);
        if (next < 0) {
            if (reserve_node(t) < 0) return -1;
            next = t->n_nodes++;
            t->is_word[next] = 0;
            t->logp[next] = 0.0;
            insert_slot(t->slots, t->mask, slot_key(node, c[j]), next);
        }
        node = next;
    }
    if (len > 0) {
        t->is_word[node] = 1;
        t->logp[node] = lp;
    }
    return 0;
}

static int check_score(double x, const char *what) {
    if (!isfinite(x)) {
        PyErr_Format(PyExc_ValueError, "%s must be a finite number, got %s", what,
                     isnan(x) ? "nan" : x > 0 ? "inf" : "-inf");
        return -1;
    }
    return 0;
}

static void Lattice_dealloc(Lattice *self) {
    trie_free(&self->trie);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Lattice(words: Sequence[str], logps: Sequence[float], unk: float, compact: bool = False,
 *         log_total: float | None = None)
 * compact keeps the hash table up to three quarters full instead of half: about 40% less
 * memory for the very large tables of training, a little slower to search. With
 * log_total, logps holds counts (positive, finite), and a word's score is
 * log(count) - log_total: the same double as Python's math.log(count) - log_total (both
 * are the C library's log), without a Python float per word.
 *
 * Everything is built here, in tp_new: there is no half-made Lattice, and calling
 * __init__ again changes nothing. The scores are converted first (float() may run
 * Python code), from tuples that own their items, before anything is built. */
static PyObject *Lattice_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *words_arg, *logps_arg, *log_total_arg = Py_None;
    double unk, log_total = 0.0;
    int compact = 0;
    if (kwds && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "Lattice() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "OOd|pO", &words_arg, &logps_arg, &unk, &compact,
                          &log_total_arg))
        return NULL;
    if (check_score(unk, "the unknown-character score") < 0) return NULL;
    const int counts = log_total_arg != Py_None;
    if (counts) {
        log_total = PyFloat_AsDouble(log_total_arg);
        if (log_total == -1.0 && PyErr_Occurred()) return NULL;
        if (check_score(log_total, "log_total") < 0) return NULL;
    }
    PyObject *words = PySequence_Tuple(words_arg);
    if (!words) return NULL;
    PyObject *logps = PySequence_Tuple(logps_arg);
    if (!logps) {
        Py_DECREF(words);
        return NULL;
    }
    Lattice *self = NULL;
    double *lp = NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(words);
    if (PyTuple_GET_SIZE(logps) != n) {
        PyErr_SetString(PyExc_ValueError, "words and logps differ in length");
        goto fail;
    }
    lp = alloc_array(n, sizeof(double));
    if (!lp) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyUnicode_Check(PyTuple_GET_ITEM(words, i))) {
            PyErr_SetString(PyExc_TypeError, "words must be str");
            goto fail;
        }
        lp[i] = PyFloat_AsDouble(PyTuple_GET_ITEM(logps, i));
        if (lp[i] == -1.0 && PyErr_Occurred()) goto fail;
        if (counts) {
            if (!(lp[i] > 0.0) || !isfinite(lp[i])) {
                PyErr_Format(PyExc_ValueError,
                             "the count of %R must be a positive finite number, got %R",
                             PyTuple_GET_ITEM(words, i), PyTuple_GET_ITEM(logps, i));
                goto fail;
            }
            lp[i] = log(lp[i]) - log_total;
        }
        if (!isfinite(lp[i])) {
            PyErr_Format(PyExc_ValueError, "the score of %R must be a finite number, got %R",
                         PyTuple_GET_ITEM(words, i), PyTuple_GET_ITEM(logps, i));
            goto fail;
        }
    }
    self = (Lattice *)type->tp_alloc(type, 0);
    if (!self) goto fail;
    self->unk = unk;
    if (trie_init(&self->trie, compact) < 0) goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *w = PyTuple_GET_ITEM(words, i);
        Py_UCS4 *c = PyUnicode_AsUCS4Copy(w);
        if (!c) goto fail;
        int rc = add_word(&self->trie, c, PyUnicode_GET_LENGTH(w), lp[i]);
        PyMem_Free(c);
        if (rc < 0) goto fail;
    }
    free(lp);
    Py_DECREF(words);
    Py_DECREF(logps);
    return (PyObject *)self;
fail:
    free(lp);
    Py_DECREF(words);
    Py_DECREF(logps);
    Py_XDECREF(self);
    return NULL;
}

/* The trie of a lattice, NULL with RuntimeError set if there is none (cannot happen for
 * a Lattice made by its constructor; kept as a guard). */
static const Trie *lattice_trie(Lattice *self) {
    if (!self->trie.slots) {
        PyErr_SetString(PyExc_RuntimeError, "Lattice is not initialised");
        return NULL;
    }
    return &self->trie;
}

/* extend_codes(codes, k, logps): add n words of k characters each, given as a buffer of
 * n*k UCS-4 code points (a numpy "<Uk" array) and a buffer of n doubles, without creating
 * a Python object per word. Refused once the lattice has been used: another thread may be
 * reading it without the GIL. */
static PyObject *Lattice_extend_codes(Lattice *self, PyObject *args) {
    Py_buffer codes, logps;
    Py_ssize_t k;
    if (!lattice_trie(self)) return NULL;
    if (!PyArg_ParseTuple(args, "y*ny*", &codes, &k, &logps)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = logps.len / (Py_ssize_t)sizeof(double);
    if (k < 1 || logps.len != n * (Py_ssize_t)sizeof(double) ||
        (n > 0 && k > PY_SSIZE_T_MAX / n / (Py_ssize_t)sizeof(Py_UCS4)) ||
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
        double x;
        memcpy(&x, lp + i, sizeof(x)); /* the buffer need not be aligned */
        if (check_score(x, "extend_codes: every score") < 0) goto done;
    }
    /* checked after the buffers are taken (taking them may run Python code) and held
     * with the GIL until the end: no thread can start a segmentation meanwhile */
    if (self->frozen) {
        PyErr_SetString(PyExc_RuntimeError,
                        "extend_codes: the lattice is already in use (boundaries or segment "
                        "was called); build a new one");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        double x;
        memcpy(&x, lp + i, sizeof(x));
        if (add_word(&self->trie, c + i * k, k, x) < 0) goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&codes);
    PyBuffer_Release(&logps);
    return result;
}

/* The dynamic programme over s[0..n): writes the end offsets of the best segmentation
 * into ends (capacity n) and returns their number. best and back hold n + 1 entries.
 * Runs without the GIL: it reads the trie, which no longer changes. */
static Py_ssize_t dp_ends(const Trie *t, double unk, const Py_UCS4 *s, Py_ssize_t n,
                          double *best, Py_ssize_t *back, Py_ssize_t *ends) {
    best[0] = 0.0;
    for (Py_ssize_t i = 1; i <= n; i++) best[i] = -INFINITY;
    back[0] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double base = best[i];
        int32_t node = find_child(t, 0, s[i]);
        double cand = base + ((node >= 0 && t->is_word[node]) ? t->logp[node] : unk);
        if (cand > best[i + 1]) {
            best[i + 1] = cand;
            back[i + 1] = i;
        }
        Py_ssize_t stop = i + t->max_len < n ? i + t->max_len : n;
        for (Py_ssize_t j = i + 2; node >= 0 && j <= stop; j++) {
            node = find_child(t, node, s[j - 1]);
            if (node < 0) break;
            if (t->is_word[node]) {
                cand = base + t->logp[node];
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
    const Trie *t = lattice_trie(self);
    if (!t) return NULL;
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "expected str");
        return NULL;
    }
    self->frozen = 1;
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    if (n == 0) return PyList_New(0);
    Py_UCS4 *s = PyUnicode_AsUCS4Copy(arg);
    double *best = alloc_array(n + 1, sizeof(double));
    Py_ssize_t *back = alloc_array(n + 1, sizeof(Py_ssize_t));
    Py_ssize_t *ends = alloc_array(n, sizeof(Py_ssize_t));
    PyObject *result = NULL;
    if (!s || !best || !back || !ends) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t count;
    MAYBE_WITHOUT_GIL(n, count = dp_ends(t, self->unk, s, n, best, back, ends));
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

/* ---- the rule layer --------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    uint8_t *cls;        /* class of every code point */
    int n_classes;       /* n_classes is also the "class" before the start of the text */
    int n_sym;           /* 2 * n_classes: symbol = 2 * class + (same as the first char) */
    int n_rules;
    int32_t n_states;
    int32_t *starts;     /* [n_classes + 1]: start state by the class before the token */
    int32_t *trans;      /* [n_states][n_sym]: (next + 1) << 8 | (rule matched before + 1) */
    uint8_t *eos_accept; /* [n_states]: rule + 1 matched at the end of the text, or 0 */
    int32_t *views;      /* [n_rules]: -1 own characters, 0 boundary, else a symbol */
    /* derived: the symbols on which a state stays where it is with one and the same
     * match (loop_rule), so that runs (a learnable run, a run of digits) are skipped in a
     * tight loop that does not wait for the next state */
    uint8_t *loops;      /* [n_states][n_sym]: 1 if the symbol is such a self-loop */
    uint8_t *has_loop;   /* [n_states] */
    uint8_t *loop_rule;  /* [n_states]: rule + 1 matched before each looping symbol, or 0 */
} Rules;

static PyTypeObject RulesType;

static void Rules_dealloc(Rules *self) {
    free(self->cls);
    free(self->starts);
    free(self->trans);
    free(self->eos_accept);
    free(self->views);
    free(self->loops);
    free(self->has_loop);
    free(self->loop_rule);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Fill loops, has_loop and loop_rule from the checked tables. */
static int rules_derive(Rules *r) {
    r->loops = calloc((size_t)r->n_states * r->n_sym, 1);
    r->has_loop = calloc((size_t)r->n_states, 1);
    r->loop_rule = calloc((size_t)r->n_states, 1);
    if (!r->loops || !r->has_loop || !r->loop_rule) return PyErr_NoMemory(), -1;
    for (int32_t st = 0; st < r->n_states; st++) {
        const int32_t *row = r->trans + (size_t)st * r->n_sym;
        int32_t self_entry = -1;
        for (int x = 0; x < r->n_sym; x++) {
            if ((row[x] >> 8) - 1 != st) continue;
            if (self_entry < 0) self_entry = row[x];
            if (row[x] == self_entry) r->loops[(size_t)st * r->n_sym + x] = 1;
        }
        if (self_entry >= 0) {
            r->has_loop[st] = 1;
            r->loop_rule[st] = (uint8_t)(self_entry & 0xFF);
        }
    }
    return 0;
}

/* A copy of buf (any alignment) as count int32 values, or NULL with an error set. */
static int32_t *copy_int32(const Py_buffer *buf, Py_ssize_t count) {
    int32_t *out = alloc_array(count, sizeof(int32_t));
    if (!out) return PyErr_NoMemory(), NULL;
    memcpy(out, buf->buf, (size_t)count * sizeof(int32_t));
    return out;
}

static int rules_invalid(const char *what) {
    PyErr_Format(PyExc_ValueError, "Rules: %s (the tables come from ciyu.text.compiled_rules)",
                 what);
    return -1;
}

/* Check every value the scanner will use as an index, so that no table can make it read
 * out of bounds or loop without moving on. */
static int rules_check(const Rules *r) {
    for (Py_ssize_t i = 0; i < N_CODE_POINTS; i++)
        if (r->cls[i] >= r->n_classes) return rules_invalid("class out of range");
    for (int p = 0; p <= r->n_classes; p++)
        if (r->starts[p] < 0 || r->starts[p] >= r->n_states)
            return rules_invalid("start state out of range");
    for (int64_t i = 0; i < (int64_t)r->n_states * r->n_sym; i++) {
        int32_t e = r->trans[i];
        if (e < 0 || (e >> 8) > r->n_states || (e & 0xFF) > r->n_rules)
            return rules_invalid("transition out of range");
    }
    for (int32_t i = 0; i < r->n_states; i++)
        if (r->eos_accept[i] > r->n_rules) return rules_invalid("match out of range");
    for (int p = 0; p <= r->n_classes; p++) { /* no rule may match the empty string */
        const int32_t *row = r->trans + (size_t)r->starts[p] * r->n_sym;
        if (r->eos_accept[r->starts[p]]) return rules_invalid("a rule matches nothing");
        for (int x = 0; x < r->n_sym; x++)
            if (row[x] & 0xFF) return rules_invalid("a rule matches nothing");
    }
    for (int k = 0; k < r->n_rules; k++)
        if (r->views[k] < -1 || r->views[k] > 0x10FFFF)
            return rules_invalid("view symbol out of range");
    return 0;
}

/* Rules(classes, n_classes, starts, trans, eos_accept, views): see ciyu._grammar.Tables.
 * The tables are copied and checked; a Rules object never changes afterwards. */
static PyObject *Rules_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    Py_buffer b_cls, b_starts, b_trans, b_eos, b_views;
    int n_classes;
    if (kwds && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "Rules() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "y*iy*y*y*y*", &b_cls, &n_classes, &b_starts, &b_trans, &b_eos,
                          &b_views))
        return NULL;
    Rules *self = NULL;
    if (b_cls.len != N_CODE_POINTS) {
        rules_invalid("classes must hold one byte per code point");
        goto fail;
    }
    if (n_classes < 1 || n_classes > 255) {
        rules_invalid("n_classes must be 1 to 255");
        goto fail;
    }
    Py_ssize_t n_sym = 2 * (Py_ssize_t)n_classes;
    Py_ssize_t row = n_sym * (Py_ssize_t)sizeof(int32_t);
    if (b_starts.len != (n_classes + 1) * (Py_ssize_t)sizeof(int32_t)) {
        rules_invalid("starts must hold n_classes + 1 states");
        goto fail;
    }
    if (b_trans.len == 0 || b_trans.len % row || b_trans.len / row > (1 << 22) ||
        b_eos.len != b_trans.len / row) {
        rules_invalid("trans must hold n_states rows of 2 * n_classes, eos_accept n_states");
        goto fail;
    }
    if (b_views.len == 0 || b_views.len % (Py_ssize_t)sizeof(int32_t) ||
        b_views.len / (Py_ssize_t)sizeof(int32_t) > 254) {
        rules_invalid("views must hold 1 to 254 rules");
        goto fail;
    }
    self = (Rules *)type->tp_alloc(type, 0);
    if (!self) goto fail;
    self->n_classes = n_classes;
    self->n_sym = (int)n_sym;
    self->n_states = (int32_t)(b_trans.len / row);
    self->n_rules = (int)(b_views.len / (Py_ssize_t)sizeof(int32_t));
    self->cls = alloc_array(N_CODE_POINTS, 1);
    self->eos_accept = alloc_array(self->n_states, 1);
    if (!self->cls || !self->eos_accept) {
        PyErr_NoMemory();
        goto fail;
    }
    memcpy(self->cls, b_cls.buf, N_CODE_POINTS);
    memcpy(self->eos_accept, b_eos.buf, (size_t)self->n_states);
    self->starts = copy_int32(&b_starts, n_classes + 1);
    if (!self->starts) goto fail;
    self->trans = copy_int32(&b_trans, (Py_ssize_t)self->n_states * n_sym);
    if (!self->trans) goto fail;
    self->views = copy_int32(&b_views, self->n_rules);
    if (!self->views || rules_check(self) < 0 || rules_derive(self) < 0) goto fail;
    PyBuffer_Release(&b_cls);
    PyBuffer_Release(&b_starts);
    PyBuffer_Release(&b_trans);
    PyBuffer_Release(&b_eos);
    PyBuffer_Release(&b_views);
    return (PyObject *)self;
fail:
    PyBuffer_Release(&b_cls);
    PyBuffer_Release(&b_starts);
    PyBuffer_Release(&b_trans);
    PyBuffer_Release(&b_eos);
    PyBuffer_Release(&b_views);
    Py_XDECREF(self);
    return NULL;
}

/* The token at s[i] (lo <= i < hi): returns the index of its rule and sets *end. The text
 * is s[lo..hi): a lookbehind at lo sees its start, a lookahead at hi its end. Runs the
 * automaton while it has a next state and keeps the last match seen (the automaton drops
 * the matches a backtracking engine would not prefer). */
static int next_token(const Rules *r, const Py_UCS4 *s, Py_ssize_t lo, Py_ssize_t i,
                      Py_ssize_t hi, Py_ssize_t *end) {
    const uint8_t *cls = r->cls;
    const Py_UCS4 first = s[i];
    int32_t state = r->starts[i > lo ? cls[s[i - 1]] : r->n_classes];
    Py_ssize_t best = -1;
    int rule = r->n_rules - 1;
    for (Py_ssize_t j = i;; j++) {
        if (r->has_loop[state]) {
            const uint8_t *loop = r->loops + (size_t)state * r->n_sym;
            Py_ssize_t j0 = j;
            while (j < hi && loop[2 * cls[s[j]] + (s[j] == first)]) j++;
            if (j > j0 && r->loop_rule[state]) {
                best = j - 1;
                rule = r->loop_rule[state] - 1;
            }
        }
        if (j == hi) {
            int a = r->eos_accept[state];
            if (a) {
                best = j;
                rule = a - 1;
            }
            break;
        }
        Py_UCS4 c = s[j];
        int32_t e = r->trans[(size_t)state * r->n_sym + 2 * cls[c] + (c == first)];
        if (e & 0xFF) {
            best = j;
            rule = (e & 0xFF) - 1;
        }
        if (e < 0x100) break;
        state = (e >> 8) - 1;
    }
    if (best <= i) { /* no match: cannot happen with the tables of ciyu.text */
        best = i + 1;
        rule = r->n_rules - 1;
    }
    *end = best;
    return rule;
}

/* scan(text: str) -> list[tuple[int, int]]: the tokens of text, as (rule index, end) */
static PyObject *Rules_scan(Rules *self, PyObject *arg) {
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "expected str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    Py_UCS4 *s = PyUnicode_AsUCS4Copy(arg);
    if (!s) return NULL;
    PyObject *result = PyList_New(0);
    for (Py_ssize_t i = 0; result && i < n;) {
        Py_ssize_t end;
        int rule = next_token(self, s, 0, i, n, &end);
        PyObject *item = Py_BuildValue("(in)", rule, end);
        if (!item || PyList_Append(result, item) < 0) Py_CLEAR(result);
        Py_XDECREF(item);
        i = end;
    }
    PyMem_Free(s);
    return result;
}

/* The view of s[0..n) into out (room for n); returns its length. */
static Py_ssize_t view_text(const Rules *r, const Py_UCS4 *s, Py_ssize_t n, Py_UCS4 *out) {
    Py_ssize_t len = 0;
    for (Py_ssize_t i = 0; i < n;) {
        Py_ssize_t end;
        int32_t view = r->views[next_token(r, s, 0, i, n, &end)];
        if (view < 0) {
            memcpy(out + len, s + i, sizeof(Py_UCS4) * (size_t)(end - i));
            len += end - i;
        } else {
            out[len++] = (Py_UCS4)view;
        }
        i = end;
    }
    return len;
}

/* learnable_view(text: str) -> str: the text the learners see (ciyu.text.learnable_view):
 * each token as its view says (its characters, its class symbol, or one "\0"). */
static PyObject *Rules_learnable_view(Rules *self, PyObject *arg) {
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "expected str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    Py_UCS4 *s = PyUnicode_AsUCS4Copy(arg);
    Py_UCS4 *out = alloc_array(n, sizeof(Py_UCS4)); /* a token's view is never longer */
    PyObject *result = NULL;
    if (!s || !out) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t len;
    MAYBE_WITHOUT_GIL(n, len = view_text(self, s, n, out));
    result = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out, len);
done:
    PyMem_Free(s);
    free(out);
    return result;
}

/* ---- bulk segmentation ------------------------------------------------------------ */

/* Growable arrays: a call's own, or a Workspace's, reused from call to call. */
typedef struct {
    Py_UCS4 *text; /* the decoded text */
    Py_ssize_t text_cap;
    /* the pending run of tokens that take part in learning (learnable text, numbers),
     * and the dynamic programme over it; room for a whole text */
    Py_UCS4 *view;
    Py_ssize_t *unit_end; /* text offset where each view symbol ends */
    double *best;
    Py_ssize_t *back, *ends;
    Py_ssize_t cap;
    /* the output: code points, or UTF-8 */
    Py_UCS4 *out;
    char *out8;
    Py_ssize_t out_len;           /* in code points, or bytes (out8) */
    Py_ssize_t out_cap, out8_cap; /* the same */
} Scratch;

static void scratch_free(Scratch *b) {
    free(b->text);
    free(b->view);
    free(b->unit_end);
    free(b->best);
    free(b->back);
    free(b->ends);
    free(b->out);
    free(b->out8);
    memset(b, 0, sizeof(*b));
}

/* Room for a decoded text of text_len code points and its arrays for n code points;
 * -1 when memory runs out. Keeps what is there when it is large enough. */
static int scratch_reserve(Scratch *b, Py_ssize_t text_len, Py_ssize_t n) {
    if (text_len > b->text_cap) {
        free(b->text);
        b->text_cap = 0;
        b->text = alloc_array(text_len, sizeof(Py_UCS4));
        if (!b->text) return -1;
        b->text_cap = text_len;
    }
    if (n + 2 > b->cap) {
        Py_ssize_t cap = n + 2;
        free(b->view);
        free(b->unit_end);
        free(b->best);
        free(b->back);
        free(b->ends);
        b->cap = 0;
        b->view = alloc_array(cap, sizeof(Py_UCS4));
        b->unit_end = alloc_array(cap, sizeof(Py_ssize_t));
        b->best = alloc_array(cap, sizeof(double));
        b->back = alloc_array(cap, sizeof(Py_ssize_t));
        b->ends = alloc_array(cap, sizeof(Py_ssize_t));
        if (!b->view || !b->unit_end || !b->best || !b->back || !b->ends) return -1;
        b->cap = cap;
    }
    return 0;
}

/* Room for extra more units of output (code points, or bytes with utf8); -1 when memory
 * runs out. Runs without the GIL. */
static int out_reserve(Scratch *b, Py_ssize_t extra, int utf8) {
    Py_ssize_t *have = utf8 ? &b->out8_cap : &b->out_cap;
    if (extra > PY_SSIZE_T_MAX / 8 - b->out_len) return -1;
    if (b->out_len + extra <= *have) return 0;
    Py_ssize_t cap = *have ? *have : 4096;
    while (cap < b->out_len + extra) cap *= 2;
    size_t unit = utf8 ? 1 : sizeof(Py_UCS4);
    void *d = realloc(utf8 ? (void *)b->out8 : (void *)b->out, (size_t)cap * unit);
    if (!d) return -1;
    if (utf8) {
        b->out8 = d;
    } else {
        b->out = d;
    }
    *have = cap;
    return 0;
}

/* Appends the UTF-8 of s[0..n) to b->out8 (room reserved: 4 bytes a code point);
 * returns the offset in s of a surrogate (which UTF-8 cannot hold), or -1. */
static Py_ssize_t put_utf8(Scratch *b, const Py_UCS4 *s, Py_ssize_t n) {
    unsigned char *d = (unsigned char *)b->out8 + b->out_len;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = s[i];
        if (c < 0x80) {
            *d++ = (unsigned char)c;
        } else if (c < 0x800) {
            *d++ = (unsigned char)(0xC0 | (c >> 6));
            *d++ = (unsigned char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            if (c >= 0xD800 && c <= 0xDFFF) return i;
            *d++ = (unsigned char)(0xE0 | (c >> 12));
            *d++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            *d++ = (unsigned char)(0x80 | (c & 0x3F));
        } else {
            *d++ = (unsigned char)(0xF0 | (c >> 18));
            *d++ = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            *d++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            *d++ = (unsigned char)(0x80 | (c & 0x3F));
        }
    }
    b->out_len = (Py_ssize_t)((char *)d - b->out8);
    return -1;
}

/* The tokens of Lattice.words: (start, end) text offsets, two values each; a line break
 * is (its offset, -1). */
typedef struct {
    Py_ssize_t *v;
    Py_ssize_t len, cap;
} Spans;

/* Appends (a, b); -1 when memory runs out. Runs without the GIL. */
static int spans_push(Spans *sp, Py_ssize_t a, Py_ssize_t b) {
    if (sp->len + 2 > sp->cap) {
        Py_ssize_t cap = sp->cap ? 2 * sp->cap : 1 << 14;
        if (cap > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(Py_ssize_t)) return -1;
        Py_ssize_t *grown = realloc(sp->v, (size_t)cap * sizeof(Py_ssize_t));
        if (!grown) return -1;
        sp->v = grown;
        sp->cap = cap;
    }
    sp->v[sp->len++] = a;
    sp->v[sp->len++] = b;
    return 0;
}

typedef struct {
    Scratch *b;
    Spans *spans; /* Lattice.words: the tokens are noted here, not written */
    int utf8;
    const Py_UCS4 *sep;
    Py_ssize_t sep_len;
    int line_started;
    Py_ssize_t n_view;
    Py_ssize_t group_start;
    Py_ssize_t bad; /* with utf8: the text offset of a surrogate, or -1 */
} Writer;

/* Appends s[a..b) to the output; -1 when memory runs out, -2 at a surrogate with utf8
 * (w->bad is its offset). */
static int put(Writer *w, const Py_UCS4 *s, Py_ssize_t a, Py_ssize_t b) {
    if (!w->utf8) {
        if (out_reserve(w->b, b - a, 0) < 0) return -1;
        if (b > a) memcpy(w->b->out + w->b->out_len, s + a, sizeof(Py_UCS4) * (size_t)(b - a));
        w->b->out_len += b - a;
        return 0;
    }
    if (b - a > PY_SSIZE_T_MAX / 8 || out_reserve(w->b, 4 * (b - a), 1) < 0) return -1;
    Py_ssize_t at = put_utf8(w->b, s + a, b - a);
    if (at >= 0) {
        w->bad = a + at;
        return -2;
    }
    return 0;
}

/* The separator holds no surrogate (checked before), so -2 is about s. */
static int emit(Writer *w, const Py_UCS4 *s, Py_ssize_t a, Py_ssize_t b) {
    int rc;
    if (w->spans) { /* a token made only of whitespace (str.isspace) is no word */
        for (Py_ssize_t k = a; k < b; k++)
            if (!Py_UNICODE_ISSPACE(s[k])) return spans_push(w->spans, a, b);
        return 0;
    }
    if (w->line_started && (rc = put(w, w->sep, 0, w->sep_len)) < 0) return rc;
    w->line_started = 1;
    return put(w, s, a, b);
}

static int flush_group(const Lattice *self, Writer *w, const Py_UCS4 *s) {
    if (w->n_view == 0) return 0;
    Scratch *b = w->b;
    Py_ssize_t count = dp_ends(&self->trie, self->unk, b->view, w->n_view, b->best, b->back,
                               b->ends);
    Py_ssize_t start = w->group_start;
    for (Py_ssize_t k = 0; k < count; k++) {
        Py_ssize_t stop = b->unit_end[b->ends[k] - 1];
        int rc = emit(w, s, start, stop);
        if (rc < 0) return rc;
        start = stop;
    }
    w->n_view = 0;
    return 0;
}

/* Segment s[0..n) line by line into the output; returns 0, -1 when memory runs out, or
 * -2 at a surrogate with utf8. Runs without the GIL. */
static int segment_text(const Lattice *self, const Rules *rules, const Py_UCS4 *s,
                        Py_ssize_t n, Writer *w) {
    Scratch *b = w->b;
    Py_ssize_t line = 0;
    int rc;
    while (line <= n) {
        Py_ssize_t eol = line;
        while (eol < n && s[eol] != '\n') eol++;
        w->line_started = 0;
        w->n_view = 0;
        for (Py_ssize_t i = line; i < eol;) {
            Py_ssize_t end;
            int32_t view = rules->views[next_token(rules, s, line, i, eol, &end)];
            if (view != 0) { /* takes part in learning: joins the pending group */
                if (w->n_view == 0) w->group_start = i;
                if (view > 0) {
                    b->view[w->n_view] = (Py_UCS4)view;
                    b->unit_end[w->n_view++] = end;
                } else {
                    for (Py_ssize_t k = i; k < end; k++) {
                        b->view[w->n_view] = s[k];
                        b->unit_end[w->n_view++] = k + 1;
                    }
                }
            } else if ((rc = flush_group(self, w, s)) < 0 || (rc = emit(w, s, i, end)) < 0) {
                return rc;
            }
            i = end;
        }
        if ((rc = flush_group(self, w, s)) < 0) return rc;
        if (eol < n &&
            (rc = w->spans ? spans_push(w->spans, eol, -1) : put(w, s, eol, eol + 1)) < 0)
            return rc;
        line = eol + 1;
    }
    return 0;
}

/* Decode the UTF-8 of b[0..nb) into s (room for nb code points); *n is the number of code
 * points. Returns 0 when b is not well-formed UTF-8 (Unicode's Table 3-7, which Python's
 * strict decoder follows: no overlong form, no surrogate, nothing above U+10FFFF, no
 * truncated sequence). Runs without the GIL. */
static int decode_utf8(const unsigned char *b, Py_ssize_t nb, Py_UCS4 *s, Py_ssize_t *n) {
    Py_ssize_t i = 0, k = 0;
    while (i < nb) {
        unsigned char c = b[i];
        if (c < 0x80) {
            s[k++] = c;
            i++;
            continue;
        }
        Py_ssize_t len;
        Py_UCS4 cp;
        unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return 0;
        }
        if (nb - i < len) return 0;
        if (b[i + 1] < lo || b[i + 1] > hi) return 0;
        for (Py_ssize_t j = 1; j < len; j++) {
            unsigned char d = b[i + j];
            if ((d & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (d & 0x3F);
        }
        s[k++] = cp;
        i += len;
    }
    *n = k;
    return 1;
}

/* Workspace(): the arrays of Lattice.segment, kept from one call to the next, for one
 * thread at a time (a thread that segments block after block then allocates, and
 * faults in, no fresh memory per block). */
typedef struct {
    PyObject_HEAD
    Scratch scratch;
    int busy;
} Workspace;

static PyTypeObject WorkspaceType;

static void Workspace_dealloc(Workspace *self) {
    scratch_free(&self->scratch);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Workspace_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    if (PyTuple_GET_SIZE(args) || (kwds && PyDict_GET_SIZE(kwds))) {
        PyErr_SetString(PyExc_TypeError, "Workspace() takes no arguments");
        return NULL;
    }
    return type->tp_alloc(type, 0); /* zeroed: no arrays yet, not busy */
}

/* segment(text: str | bytes, rules: Rules, sep: str, utf8: bool = False,
 *         workspace: Workspace | None = None) -> str | bytes
 * Every line of text (split at "\n") segmented, words joined by sep; with utf8, the
 * result is UTF-8 (encoded without the GIL: a thread that writes it to a binary file does
 * no further work per character). Text given as bytes is UTF-8, decoded here without the
 * GIL too; None if it is not well-formed (the caller decodes it for the error message).
 * With a workspace, its arrays are used (and kept) instead of new ones. */
static PyObject *Lattice_segment(Lattice *self, PyObject *args) {
    PyObject *text, *rules_obj, *sep_obj, *ws_obj = Py_None;
    int utf8 = 0;
    if (!lattice_trie(self)) return NULL;
    if (!PyArg_ParseTuple(args, "OO!U|pO", &text, &RulesType, &rules_obj, &sep_obj, &utf8,
                          &ws_obj))
        return NULL;
    if (!PyUnicode_Check(text) && !PyBytes_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "segment: text must be str or UTF-8 bytes");
        return NULL;
    }
    Workspace *ws = NULL;
    if (ws_obj != Py_None) {
        if (!PyObject_TypeCheck(ws_obj, &WorkspaceType)) {
            PyErr_SetString(PyExc_TypeError, "segment: workspace must be a Workspace or None");
            return NULL;
        }
        ws = (Workspace *)ws_obj;
        if (ws->busy) {
            PyErr_SetString(PyExc_RuntimeError,
                            "segment: this workspace is in use by another thread; give each "
                            "thread its own");
            return NULL;
        }
    }
    Py_UCS4 *sep = PyUnicode_AsUCS4Copy(sep_obj);
    if (!sep) return NULL;
    Py_ssize_t sep_len = PyUnicode_GET_LENGTH(sep_obj);
    for (Py_ssize_t i = 0; utf8 && i < sep_len; i++) {
        if (sep[i] >= 0xD800 && sep[i] <= 0xDFFF) {
            PyMem_Free(sep);
            PyErr_SetString(PyExc_ValueError,
                            "segment: the separator holds a lone surrogate, which UTF-8 "
                            "cannot hold");
            return NULL;
        }
    }
    self->frozen = 1;
    const Rules *rules = (const Rules *)rules_obj;
    Scratch own;
    memset(&own, 0, sizeof(own));
    Scratch *b = ws ? &ws->scratch : &own;
    if (ws) ws->busy = 1; /* set and cleared with the GIL held */
    b->out_len = 0;
    PyObject *result = NULL;
    Py_ssize_t n = 0;
    int rc;
    if (PyBytes_Check(text)) {
        /* bytes are immutable, and the argument keeps them alive without the GIL */
        const unsigned char *bytes = (const unsigned char *)PyBytes_AS_STRING(text);
        Py_ssize_t nb = PyBytes_GET_SIZE(text);
        if (nb > PY_SSIZE_T_MAX / 8 - 2 || scratch_reserve(b, nb + 1, 0) < 0) {
            PyErr_NoMemory();
            goto done;
        }
        int ok;
        MAYBE_WITHOUT_GIL(nb, ok = decode_utf8(bytes, nb, b->text, &n));
        if (!ok) {
            result = Py_NewRef(Py_None);
            goto done;
        }
    } else {
        n = PyUnicode_GET_LENGTH(text);
        if (scratch_reserve(b, n + 1, 0) < 0) {
            PyErr_NoMemory();
            goto done;
        }
        if (!PyUnicode_AsUCS4(text, b->text, n + 1, 0)) goto done;
    }
    if (scratch_reserve(b, 0, n) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    Writer w;
    memset(&w, 0, sizeof(w));
    w.b = b;
    w.utf8 = utf8;
    w.sep = sep;
    w.sep_len = sep_len;
    w.bad = -1;
    const Py_UCS4 *s = b->text;
    MAYBE_WITHOUT_GIL(n, rc = segment_text(self, rules, s, n, &w));
    if (rc == -2) {
        PyErr_Format(PyExc_ValueError,
                     "segment: a lone surrogate at offset %zd of the text cannot be encoded "
                     "as UTF-8",
                     w.bad);
    } else if (rc < 0) {
        PyErr_NoMemory();
    } else if (utf8) {
        result = PyBytes_FromStringAndSize(b->out8 ? b->out8 : "", b->out_len);
    } else {
        static const Py_UCS4 empty = 0;
        result = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, b->out ? b->out : &empty,
                                           b->out_len);
    }
done:
    PyMem_Free(sep);
    if (ws) {
        ws->busy = 0;
    } else {
        scratch_free(&own);
    }
    return result;
}

/* words(text: str, rules: Rules) -> (list[str], list[int])
 * The words of every line of text (split at "\n") as segment() finds them, without the
 * tokens made only of whitespace, one after the other, and how many each line has: what
 * splitting segment()'s output at the line breaks and separators gives, without building
 * that output or splitting it in Python (the template passes read every word so). */
static PyObject *Lattice_words(Lattice *self, PyObject *args) {
    PyObject *text, *rules_obj;
    if (!lattice_trie(self)) return NULL;
    if (!PyArg_ParseTuple(args, "UO!", &text, &RulesType, &rules_obj)) return NULL;
    self->frozen = 1;
    Scratch b;
    memset(&b, 0, sizeof(b));
    Spans sp;
    memset(&sp, 0, sizeof(sp));
    PyObject *words = NULL, *counts = NULL, *result = NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (scratch_reserve(&b, n + 1, n) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    if (!PyUnicode_AsUCS4(text, b.text, n + 1, 0)) goto done;
    Writer w;
    memset(&w, 0, sizeof(w));
    w.b = &b;
    w.spans = &sp;
    w.bad = -1;
    const Py_UCS4 *s = b.text;
    int rc;
    MAYBE_WITHOUT_GIL(n, rc = segment_text(self, (const Rules *)rules_obj, s, n, &w));
    if (rc < 0) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t n_breaks = 0;
    for (Py_ssize_t k = 1; k < sp.len; k += 2) n_breaks += sp.v[k] < 0;
    words = PyList_New(sp.len / 2 - n_breaks);
    counts = PyList_New(n_breaks + 1);
    if (!words || !counts) goto done;
    Py_ssize_t at = 0, line = 0, line_words = 0;
    for (Py_ssize_t k = 0; k < sp.len; k += 2) {
        if (sp.v[k + 1] < 0) {
            PyObject *c = PyLong_FromSsize_t(line_words);
            if (!c) goto done;
            PyList_SET_ITEM(counts, line++, c);
            line_words = 0;
            continue;
        }
        PyObject *word =
            PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, s + sp.v[k], sp.v[k + 1] - sp.v[k]);
        if (!word) goto done;
        PyList_SET_ITEM(words, at++, word);
        line_words++;
    }
    PyObject *c = PyLong_FromSsize_t(line_words);
    if (!c) goto done;
    PyList_SET_ITEM(counts, line, c);
    result = PyTuple_Pack(2, words, counts);
done:
    Py_XDECREF(words);
    Py_XDECREF(counts);
    free(sp.v);
    scratch_free(&b);
    return result;
}

static PyMethodDef Lattice_methods[] = {
    {"extend_codes", (PyCFunction)Lattice_extend_codes, METH_VARARGS,
     "extend_codes(codes, k, logps): add words of k characters given as code points "
     "(refused once the lattice has been used)"},
    {"boundaries", (PyCFunction)Lattice_boundaries, METH_O,
     "boundaries(s) -> list of the end offsets of the best segmentation of s"},
    {"words", (PyCFunction)Lattice_words, METH_VARARGS,
     "words(text, rules) -> (words, counts): the words of every line of text, but tokens "
     "made only of whitespace, one after the other, and how many each line has"},
    {"segment", (PyCFunction)Lattice_segment, METH_VARARGS,
     "segment(text, rules, sep, utf8=False, workspace=None) -> every line of text (str, or "
     "UTF-8 bytes: None if they are not well-formed), its words joined by sep (UTF-8 bytes "
     "with utf8); a workspace's arrays are reused"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject LatticeType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ciyu._lattice.Lattice",
    .tp_basicsize = sizeof(Lattice),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Lattice(words, logps, unk, compact=False): compiled maximum-probability "
              "segmenter; immutable once used, safe to share between threads",
    .tp_new = Lattice_new,
    .tp_dealloc = (destructor)Lattice_dealloc,
    .tp_methods = Lattice_methods,
};

static PyTypeObject WorkspaceType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ciyu._lattice.Workspace",
    .tp_basicsize = sizeof(Workspace),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Workspace(): the arrays of Lattice.segment, kept between calls; one thread "
              "at a time",
    .tp_new = Workspace_new,
    .tp_dealloc = (destructor)Workspace_dealloc,
};

static PyMethodDef Rules_methods[] = {
    {"scan", (PyCFunction)Rules_scan, METH_O,
     "scan(text) -> the tokens of text as (rule index, end offset)"},
    {"learnable_view", (PyCFunction)Rules_learnable_view, METH_O,
     "learnable_view(text) -> the text the learners see (ciyu.text.learnable_view)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RulesType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ciyu._lattice.Rules",
    .tp_basicsize = sizeof(Rules),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Rules(classes, n_classes, starts, trans, eos_accept, views): the rule layer's "
              "automaton (made by ciyu.text.compiled_rules); immutable",
    .tp_new = Rules_new,
    .tp_dealloc = (destructor)Rules_dealloc,
    .tp_methods = Rules_methods,
};

/* ---- the lm learner's tag Viterbi ------------------------------------------------- */

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
    PyObject *lengths_arg, *join_arg;
    if (!PyArg_ParseTuple(args, "y*iOO", &em, &order, &lengths_arg, &join_arg)) return NULL;
    PyObject *result = NULL;
    PyObject *lengths = NULL, *join_list = NULL;
    double join[64];
    double *score = NULL, *next = NULL;
    unsigned char *back = NULL;
    Py_ssize_t back_cap = 0;
    /* tuples own their items: converting one (float(), index()) cannot free another */
    lengths = PySequence_Tuple(lengths_arg);
    join_list = lengths ? PySequence_Tuple(join_arg) : NULL;
    if (!join_list) goto fail;
    Py_ssize_t n_frags = PyTuple_GET_SIZE(lengths);
    Py_ssize_t total = em.len / (Py_ssize_t)sizeof(double) / (order > 0 ? order : 1);
    if (order < 1 || order > 64 || PyTuple_GET_SIZE(join_list) != order ||
        em.len != (Py_ssize_t)sizeof(double) * order * total) {
        PyErr_SetString(PyExc_ValueError, "tag_viterbi: bad shapes");
        goto fail;
    }
    for (int k = 0; k < order; k++) {
        join[k] = PyFloat_AsDouble(PyTuple_GET_ITEM(join_list, k));
        if (join[k] == -1.0 && PyErr_Occurred()) goto fail;
    }
    const double *e = (const double *)em.buf;
    score = alloc_array(order, sizeof(double));
    next = alloc_array(order, sizeof(double));
    if (!score || !next) {
        PyErr_NoMemory();
        goto fail;
    }
    result = PyList_New(n_frags);
    if (!result) goto fail;
    Py_ssize_t pos = 0;
    const int last = order - 1;
    for (Py_ssize_t f = 0; f < n_frags; f++) {
        Py_ssize_t n = PyLong_AsSsize_t(PyTuple_GET_ITEM(lengths, f));
        if (n < 0) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "negative length");
            goto fail;
        }
        if (n > total - pos) {
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
        if (n > back_cap / order) {
            if (n > PY_SSIZE_T_MAX / 2 / order) {
                PyErr_NoMemory();
                goto fail;
            }
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
    Py_XDECREF(lengths);
    Py_XDECREF(join_list);
    free(score);
    free(next);
    free(back);
    return result;
}

static PyMethodDef module_methods[] = {
    {"tag_viterbi", (PyCFunction)tag_viterbi, METH_VARARGS,
     "tag_viterbi(em, order, lengths, join) -> word ends of each fragment (lm learner)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef lattice_module = {
    PyModuleDef_HEAD_INIT, "_lattice",
    "Compiled twins of ciyu.decoder, of the rule layer and of the lm learner's Viterbi "
    "(the Python code is the reference).",
    -1, module_methods,
};

static int add_type(PyObject *m, PyTypeObject *type, const char *name) {
    if (PyType_Ready(type) < 0) return -1;
    Py_INCREF(type);
    if (PyModule_AddObject(m, name, (PyObject *)type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC PyInit__lattice(void) {
    PyObject *m = PyModule_Create(&lattice_module);
    if (!m) return NULL;
    if (add_type(m, &LatticeType, "Lattice") < 0 || add_type(m, &RulesType, "Rules") < 0 ||
        add_type(m, &WorkspaceType, "Workspace") < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
