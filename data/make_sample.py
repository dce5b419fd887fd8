"""Rebuild data/zh_laws_sample.txt.gz from the full law corpus in ../shared/data/raw.

The sample is every national-level document of six categories (constitution, civil code,
criminal law, civil & commercial law, procedure law, social law) of LawRefBook/Laws,
concatenated in the order of the corpus index. Usage: python data/make_sample.py
"""

from __future__ import annotations

import gzip
import hashlib
import sys
from pathlib import Path

CATEGORIES = ("宪法", "民法典", "刑法", "民法商法", "诉讼与非诉讼程序法", "社会法")


def main() -> int:
    here = Path(__file__).resolve().parent
    raw = here.parent.parent / "shared" / "data" / "raw"
    if not raw.is_dir():
        print(f"{raw} not found: the full corpus is needed to rebuild the sample", file=sys.stderr)
        return 1
    index = (raw / "zh_laws_lawrefbook.index.tsv").read_text(encoding="utf-8").splitlines()[1:]
    with gzip.open(raw / "zh_laws_lawrefbook.md.txt.gz", "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    parts = []
    for row in index:
        path, first, count = row.split("\t")[:3]
        if path.split("/")[0] in CATEGORIES:
            start = int(first) - 1
            parts.append("\n".join(lines[start : start + int(count)]) + "\n")
    text = "".join(parts).encode("utf-8")
    out = here / "zh_laws_sample.txt.gz"
    with (
        open(out, "wb") as raw_out,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw_out, mtime=0, compresslevel=9) as gz,
    ):
        gz.write(text)
    digest = hashlib.sha256(text).hexdigest()
    print(f"{out}: {len(parts)} documents, {len(text)} bytes, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
