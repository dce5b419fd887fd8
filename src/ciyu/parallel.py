"""How many processes or threads a command uses: ``-j N``, where 0 means one per core.

The engines that run passes over a corpus are in :mod:`ciyu.passes` (processes) and
:mod:`ciyu.distributed` (a Ray cluster); :mod:`ciyu.bulk` segments with threads.
"""

from __future__ import annotations

import os


def resolve_threads(threads: int | None) -> int:
    """The number of workers: ``None`` or 0 means one per CPU core."""
    if not threads:
        return os.cpu_count() or 1
    return max(1, threads)
