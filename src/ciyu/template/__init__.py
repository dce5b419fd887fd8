"""Templates (最小熵原理三, "飞象过河"): non-adjacent collocations learned from segmented text,
and an unsupervised parse of sentences with them.

- :mod:`~ciyu.template.sentences`: sentences, clauses and word keys;
- :mod:`~ciyu.template.pairs`, :mod:`~ciyu.template.mining`,
  :mod:`~ciyu.template.evidence`: the corpus passes of mining (the method is in
  :mod:`~ciyu.template.mining`);
- :mod:`~ciyu.template.jobs`: the passes as jobs of the engines of :mod:`ciyu.passes`
  (messages, shards), and :mod:`~ciyu.template.passes`: how a pass runs;
- :mod:`~ciyu.template.run`: mining a corpus;
- :mod:`~ciyu.template.parser`: the template trie and the parser;
- :mod:`~ciyu.template.tsv`: the templates file.
"""

from __future__ import annotations

from .evidence import Template
from .options import TemplateConfig
from .parser import FILLS, Parser, Tree, brackets, fill_right, leaves, to_json, to_text
from .run import Mined, mine
from .sentences import SLOT

__all__ = [
    "FILLS",
    "SLOT",
    "Mined",
    "Parser",
    "Template",
    "TemplateConfig",
    "Tree",
    "brackets",
    "fill_right",
    "leaves",
    "mine",
    "to_json",
    "to_text",
]
