"""The optional compiled extension, imported once for every module that has a fast path.

``ciyu._lattice`` (``src/ciyu/_lattice.c``) is built when ciyu is installed with a C
compiler; without one, installation still succeeds, :data:`lattice` is None and the
pure-Python references serve alone.
"""

from __future__ import annotations

from types import ModuleType

lattice: ModuleType | None
try:
    from . import _lattice as lattice
except ImportError:  # no C compiler at install time
    lattice = None

#: True when the compiled extension is installed.
HAVE_COMPILED = lattice is not None
