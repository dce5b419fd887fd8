"""The gzip stream of :mod:`ciyu.reader`, in a module of its own: ``gzip`` is imported only
when some input is compressed."""

from __future__ import annotations

import gzip
from typing import BinaryIO


class GzipStream(gzip.GzipFile):
    """A gzip stream that closes the stream it decompresses (if asked to)."""

    def __init__(self, raw: BinaryIO, close_raw: bool) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self._raw = raw
        self._close_raw = close_raw

    def close(self) -> None:
        """Close the stream, and the one it decompresses when asked to."""
        try:
            super().close()
        finally:
            if self._close_raw:
                self._raw.close()
