"""ciyu (词语): learn the words of a language written without spaces from raw text alone,
then segment text with them.

The public API is re-exported here; see the README for a tour.
"""

from __future__ import annotations

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
from .evaluate import Scores as Scores
from .evaluate import evaluate as evaluate
from .learners.cohesion import CohesionConfig as CohesionConfig
from .learners.cohesion import Discovery as Discovery
from .learners.cohesion import WordStats as WordStats
from .lexicon import Lexicon as Lexicon
from .model import Model as Model
from .reader import Corpus as Corpus
from .template import Parser as Parser
from .template import Template as Template
from .template import TemplateConfig as TemplateConfig

__version__ = "0.1.0"

load = Model.load
