"""Exceptions raised by evagg.

Every user-facing error is a subclass of :class:`EvaggError` whose message names the
field (or file row and column) and the offending value, so that a user can fix the input
without reading a traceback from deep inside numpy or a solver.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DataFileError",
    "EvaggError",
    "InfeasibleError",
    "InputError",
    "MisalignedIndexError",
    "SolverError",
    "VerificationError",
]


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class EvaggError(Exception):
    """Base class of every error evagg raises on purpose."""


class InputError(EvaggError, ValueError):
    """A user-supplied argument is invalid.

    Parameters
    ----------
    field
        Name of the argument or attribute, e.g. ``"probabilities"``.
    value
        The offending value (shortened in the message).
    reason
        What is wrong and, where possible, what is expected.
    """

    def __init__(self, field: str, value: Any, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={_short(value)}: {reason}")


class MisalignedIndexError(InputError):
    """Two time-labelled inputs do not share the same index (never aligned silently)."""


class DataFileError(InputError):
    """A row or column of a user's data file is malformed.

    Parameters
    ----------
    path
        File being read.
    row
        1-based line number in the file (the header is line 1), or ``None`` for a
        file-level problem.
    column
        Column name or ``None``.
    value
        Offending cell value.
    reason
        What is wrong.
    """

    def __init__(
        self,
        path: str,
        row: int | None,
        column: str | None,
        value: Any,
        reason: str,
    ) -> None:
        self.path = path
        self.row = row
        self.column = column
        where = path
        if row is not None:
            where += f", line {row}"
        if column is not None:
            where += f", column {column!r}"
        EvaggError.__init__(self, f"{where}: value {_short(value)}: {reason}")
        self.field = column or path
        self.value = value
        self.reason = reason


class SolverError(EvaggError):
    """The solver failed (numerical trouble, not installed, time limit) without a model verdict."""

    def __init__(self, problem: str, status: str, detail: str = "") -> None:
        self.problem = problem
        self.status = status
        msg = f"{problem}: solver status {status!r}"
        super().__init__(msg + (f": {detail}" if detail else ""))


class InfeasibleError(SolverError):
    """The model is infeasible (or unbounded); names the constraint family to blame if known.

    Parameters
    ----------
    problem
        Model name.
    status
        Solver status string.
    family
        The constraint family whose relaxation restores feasibility, or ``None`` if not
        diagnosed.
    """

    def __init__(
        self, problem: str, status: str, family: str | None = None, detail: str = ""
    ) -> None:
        self.family = family
        extra = f"constraint family {family!r} makes it infeasible" if family else ""
        if detail:
            extra = f"{extra}; {detail}" if extra else detail
        super().__init__(problem, status, extra)


class VerificationError(EvaggError):
    """An optimisation result failed its verification (certificate, relaxation gap, AC check).

    A failed verification is an error, never a warning.
    """

    def __init__(self, check: str, value: float, tolerance: float, detail: str = "") -> None:
        self.check = check
        self.value = value
        self.tolerance = tolerance
        msg = f"verification {check!r} failed: {value:.3e} > tolerance {tolerance:.1e}"
        super().__init__(msg + (f" ({detail})" if detail else ""))
