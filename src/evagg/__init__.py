"""evagg: decisions of an electric-vehicle aggregator, verified.

Layers (arrows point down only): ``evagg.data`` → ``evagg.io`` → domain objects
(``Fleet``, ``ScenarioSet``, ``Feeder``) → mathematics (``evagg.scenarios``,
``evagg.optim``, ``evagg.grid``) → decision problems → studies, report and CLI.
"""

from evagg.errors import (
    DataFileError,
    EvaggError,
    InfeasibleError,
    InputError,
    MisalignedIndexError,
    SolverError,
    VerificationError,
)

__version__ = "0.1.0"

__all__ = [
    "DataFileError",
    "EvaggError",
    "InfeasibleError",
    "InputError",
    "MisalignedIndexError",
    "SolverError",
    "VerificationError",
    "__version__",
]
