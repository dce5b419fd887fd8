"""Learners: each turns a corpus (through its n-gram counts) into a lexicon.

Every learner is a module with a frozen ``Config`` dataclass (the single source of truth
for its options) and a ``learn`` function. :data:`METHODS` maps the ``--method`` names of
``ciyu train`` to their config classes.
"""

from __future__ import annotations

from .cohesion import CohesionConfig

METHODS: dict[str, type] = {"cohesion": CohesionConfig}

__all__ = ["METHODS", "CohesionConfig"]
