"""ciyu (词语): learn the words of a language written without spaces from raw text alone,
then segment text with them.

The public API is re-exported here; see the README for a tour. Its names are imported
when first used (PEP 562), so that ``ciyu segment``, which needs a model and the
segmenter only, does not start by importing the learners, numpy and the exporters.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Imported now, not on first use: the function shares its name with its module, which
# importing the module (as other modules do) would bind here in its place. It is light.
from .evaluate import Scores as Scores
from .evaluate import evaluate as evaluate

if TYPE_CHECKING:
    from .api import count as count
    from .api import discover as discover
    from .api import load_templates as load_templates
    from .api import save_templates as save_templates
    from .api import templates as templates
    from .api import train as train
    from .counts import NgramCounts as NgramCounts
    from .errors import CiyuError as CiyuError
    from .errors import ConfigError as ConfigError
    from .errors import EvaluationError as EvaluationError
    from .errors import InputError as InputError
    from .errors import ModelFormatError as ModelFormatError
    from .errors import OutputError as OutputError
    from .learners.cohesion import CohesionConfig as CohesionConfig
    from .learners.cohesion import Discovery as Discovery
    from .learners.cohesion import WordStats as WordStats
    from .lexicon import Lexicon as Lexicon
    from .model import Model as Model
    from .reader import Corpus as Corpus
    from .template import Parser as Parser
    from .template import Template as Template
    from .template import TemplateConfig as TemplateConfig

    load = Model.load

__version__ = "0.1.0"

# name -> the module that defines it (relative to this package)
_EXPORTS = {
    **dict.fromkeys(
        ("count", "discover", "load_templates", "save_templates", "templates", "train"), ".api"
    ),
    "NgramCounts": ".counts",
    **dict.fromkeys(
        (
            "CiyuError",
            "ConfigError",
            "EvaluationError",
            "InputError",
            "ModelFormatError",
            "OutputError",
        ),
        ".errors",
    ),
    **dict.fromkeys(("CohesionConfig", "Discovery", "WordStats"), ".learners.cohesion"),
    "Lexicon": ".lexicon",
    "Model": ".model",
    "Corpus": ".reader",
    **dict.fromkeys(("Parser", "Template", "TemplateConfig"), ".template"),
}

__all__ = sorted([*_EXPORTS, "Scores", "evaluate", "load", "__version__"])


def __getattr__(name: str) -> Any:
    """The public names, imported on first use (and then cached in the module)."""
    if name == "load":
        value: Any = importlib.import_module(".model", __name__).Model.load
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
