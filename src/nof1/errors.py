"""Exceptions raised by nof1.

Every error is a :class:`Nof1Error`; specific errors also subclass the matching builtin so callers
can catch them either way (the attrs convention). The library raises and never prints; only the
CLI turns an error into ``Error: ...`` on stderr and a non-zero exit code.
"""

from __future__ import annotations


class Nof1Error(Exception):
    """Base class of every error nof1 raises on purpose."""


class ProtocolError(Nof1Error, ValueError):
    """A protocol file is invalid. ``problems`` lists every problem found, one per line."""

    def __init__(self, problems: list[str], source: str = "protocol.toml") -> None:
        self.problems = list(problems)
        self.source = source
        if len(self.problems) == 1:
            message = f"{self.problems[0]} in {source}"
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            message = f"{len(self.problems)} problems in {source}:\n{lines}"
        super().__init__(message)


class ScheduleError(Nof1Error, ValueError):
    """A schedule cannot be built from the protocol's design."""


class WorkspaceError(Nof1Error, FileNotFoundError):
    """The trial workspace is missing, incomplete or in the wrong state for the command."""


class LockError(Nof1Error, RuntimeError):
    """The protocol no longer matches the locked trial, or the trial is not locked yet."""


class EntryError(Nof1Error, ValueError):
    """A daily entry, adverse event or imported row is invalid; nothing was written."""


class StoreError(Nof1Error, RuntimeError):
    """The data store is unreadable, from a newer version, or a backup failed its check."""


class OutputError(Nof1Error, OSError):
    """A file cannot be written: it exists, is protected or a link, or the system refused."""


class DataError(Nof1Error, ValueError):
    """Data given for analysis (a CSV file or the store) cannot be analysed as asked."""


class TemplateError(Nof1Error, LookupError):
    """No protocol template has the name given (the message lists the available ones)."""


class PlanError(Nof1Error, ValueError):
    """A planner setting (assumption, candidate design, simulation option) has a bad value.

    ``field`` names the setting (``rho``, ``baseline``, ``simulations``...) when there is one, and
    ``detail`` says what is wrong with it, so a front end can name its own option for it.
    """

    def __init__(self, detail: str, field: str | None = None) -> None:
        self.detail = detail
        self.field = field
        super().__init__(f"{field} {detail}" if field else detail)


class UsageError(Nof1Error, ValueError):
    """A command-line option has a bad value or clashes with another option."""


class AnalysisError(Nof1Error, RuntimeError):
    """The analysis could not be run at all (not to be confused with a withheld verdict)."""
