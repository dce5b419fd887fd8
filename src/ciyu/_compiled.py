"""The optional compiled extensions, imported once for every module that has a fast path.

``ciyu._lattice`` (``src/ciyu/_lattice.c``: the decoder, the rule layer, the lm learner)
and ``ciyu._tparse`` (``src/ciyu/_tparse.c``: template mining's counts and parse passes)
are built when ciyu is installed with a C compiler; without one, installation still succeeds,
:data:`lattice` and :data:`tparse` are None and the pure-Python references serve alone
(the same results, many times slower).
"""

from __future__ import annotations

import logging
import threading
from types import ModuleType

lattice: ModuleType | None
try:
    from . import _lattice as lattice
except ImportError:  # no C compiler at install time
    lattice = None

tparse: ModuleType | None
try:
    from . import _tparse as tparse
except ImportError:  # no C compiler at install time
    tparse = None

#: True when the compiled extension is installed.
HAVE_COMPILED = lattice is not None
#: True when the compiled template parser is installed.
HAVE_COMPILED_TEMPLATES = tparse is not None

#: Characters handled by the pure-Python path before :func:`note_slow_path` warns.
SLOW_PATH_NOTICE_CHARS = 2_000_000

log = logging.getLogger("ciyu")


class _SlowPathNotice:
    """Counts the text handled without the extension and warns once, when it gets large:
    a user whose install silently lacks the compiled path should learn why a job is slow,
    but a small job (or a test) should not be told."""

    def __init__(self, module: str = "ciyu._lattice", what: str = "path") -> None:
        self._module = module
        self._what = what
        self._lock = threading.Lock()
        self._chars = 0
        self._warned = False

    def __call__(self, n_chars: int) -> None:
        if self._warned:
            return
        with self._lock:
            self._chars += n_chars
            if self._warned or self._chars < SLOW_PATH_NOTICE_CHARS:
                return
            self._warned = True
        log.warning(
            "the compiled extension %s is not installed: running the pure-Python %s, many "
            "times slower; reinstall ciyu where a C compiler and the Python headers are "
            "available (`ciyu --version` tells whether the extension is in use)",
            self._module,
            self._what,
        )


# One per process and extension: the notice is about the process's install, and must be
# given once.
note_slow_path = _SlowPathNotice()
#: The notice for template mining's counts and parse passes
#: (:class:`ciyu.template.mining.TemplatePass`, :class:`ciyu.template.evidence.EvidencePass`).
note_slow_templates = _SlowPathNotice("ciyu._tparse", "template parser")
