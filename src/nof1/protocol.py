"""What the trial is: the protocol file (TOML) and its validated, frozen representation.

A protocol captures the SPENT 2019 items that matter for one person: identity, the two arms,
supervision, the design, blinding, outcomes with their minimal clinically important differences
(MCIDs), analysis choices and stopping rules. ``TrialProtocol.from_toml`` reads a file, checks
*everything* and raises one :class:`~nof1.errors.ProtocolError` listing every problem with its
field path and a fix. Unknown keys are errors.

This module must stay cheap to import (stdlib + attrs only): the daily ``nof1 log`` loads it.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from attrs import evolve, field, frozen

from nof1.errors import ProtocolError
from nof1.vocab import DIRECTIONS, KINDS, SEVERITIES, TRENDS, one_of

SCHEMES = ("pairwise", "counterbalanced", "restricted", "fixed")
PURPOSES = ("clinical_care", "research")
CATEGORIES = (
    "lifestyle",
    "supplement",
    "otc_drug",
    "prescription_drug",
    "hormone",
    "device",
    "other",
)
SUPERVISED_CATEGORIES = ("prescription_drug", "hormone")
STOPPING_KINDS = ("serious_adverse_event", "adverse_events", "outcome_threshold")
ARMS = ("A", "B")

#: The longest trial a protocol may describe (run-in + periods + washouts), in days: 3 years.
#: A typo such as ``period_days = 365`` with ``blocks = 50`` would otherwise build a 100-year
#: schedule and calendar.
MAX_TRIAL_DAYS = 3 * 365 + 1
#: A protocol file larger than this is not a protocol (a wrong file, or an attack).
MAX_PROTOCOL_BYTES = 1_000_000

#: Sections whose change after ``nof1 start`` needs a recorded amendment (they decide the analysis).
LOCKED_SECTIONS = ("comparator", "intervention", "design", "blinding", "outcomes", "analysis")


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


@frozen
class Arm:
    """One arm of the trial: ``A`` is the comparator, ``B`` the intervention."""

    code: str = field()
    name: str
    dose: str = ""
    timing: str = ""
    notes: str = ""
    category: str = "other"

    @code.validator
    def _check_code(self, _attr: Any, value: str) -> None:
        if value not in ARMS:
            raise ValueError(f"arm code must be 'A' or 'B' (got {value!r})")

    def describe(self) -> str:
        """Name with dose and timing, for tables and reports."""
        parts = [self.name]
        if self.dose:
            parts.append(self.dose)
        if self.timing:
            parts.append(self.timing)
        return ", ".join(parts)


@frozen
class Supervision:
    """Medical supervision: who supervises and when they signed the protocol off."""

    required: bool = False
    clinician: str = ""
    contact: str = ""
    signed_off: dt.date | None = None


def design_problems(
    scheme: str,
    blocks: int,
    period_days: int,
    analytic_washout_days: int,
    *,
    run_in_days: int = 0,
    washout_days: int = 0,
) -> list[str]:
    """What makes a design impossible, in words (empty when it is fine).

    The one rule of :class:`Design`, used by the protocol reader (every problem at once, with
    the file named) and by the value itself, so a design made in code (the planner's
    alternatives, ``attrs.evolve``) obeys it too.
    """
    problems = []
    if scheme not in SCHEMES:
        problems.append(f"design.scheme must be one of {', '.join(SCHEMES)} (got {scheme!r})")
    if blocks < 1:
        problems.append(f"design.blocks must be ≥ 1 (got {blocks})")
    if period_days < 1:
        problems.append(f"design.period_days must be ≥ 1 (got {period_days})")
    if analytic_washout_days < 0:
        problems.append(f"design.analytic_washout_days must be ≥ 0 (got {analytic_washout_days})")
    elif analysed_days_per_period(period_days, analytic_washout_days) < MIN_ANALYSED_DAYS:
        problems.append(
            f"design.analytic_washout_days must be < design.period_days ({period_days}) "
            f"so that some days of each period are analysed (got {analytic_washout_days})"
        )
    if scheme == "counterbalanced" and blocks % 2:
        problems.append(
            f"design.blocks must be even for scheme 'counterbalanced' (ABBA/BAAB pairs of "
            f"blocks; got {blocks}): use "
            + (f"{blocks + 1} or {blocks - 1}" if blocks > 1 else "2")
        )
    total = run_in_days + 2 * blocks * period_days + (2 * blocks - 1) * washout_days
    if total > MAX_TRIAL_DAYS:  # a bound on schedules, calendars and simulations built from it
        problems.append(
            f"the trial would last {total} days (design.run_in_days {run_in_days} + 2 × "
            f"design.blocks {blocks} × design.period_days {period_days} + "
            f"{2 * blocks - 1} × design.washout_days {washout_days}), more than the limit of "
            f"{MAX_TRIAL_DAYS} days (3 years): use fewer blocks or shorter periods"
        )
    return problems


#: Each period must keep at least this many days after its analytic washout.
MIN_ANALYSED_DAYS = 1


def analysed_days_per_period(period_days: int, analytic_washout_days: int) -> int:
    """Days of each period the analysis uses: those after the analytic washout."""
    return period_days - analytic_washout_days


@frozen
class Design:
    """The randomized design. Day 1 of the trial is ``start_date``, the first run-in day.

    Every way of building one (the protocol file, ``attrs.evolve``, the planner) obeys
    :func:`design_problems`; a broken design raises :class:`~nof1.errors.ProtocolError`.
    """

    scheme: str = "pairwise"
    blocks: int = 3
    period_days: int = 14
    run_in_days: int = 0
    washout_days: int = 0
    analytic_washout_days: int = 0
    max_run: int = 2
    start_date: dt.date | None = None
    seed: int | None = None

    def __attrs_post_init__(self) -> None:
        problems = design_problems(
            self.scheme,
            self.blocks,
            self.period_days,
            self.analytic_washout_days,
            run_in_days=self.run_in_days,
            washout_days=self.washout_days,
        )
        if problems:
            raise ProtocolError(problems, source="the design")

    @property
    def n_periods(self) -> int:
        return 2 * self.blocks

    @property
    def analysed_days_per_period(self) -> int:
        """Days of each period after the analytic washout (the days the analysis uses)."""
        return analysed_days_per_period(self.period_days, self.analytic_washout_days)

    @property
    def randomized(self) -> bool:
        return self.scheme != "fixed"

    @property
    def total_days(self) -> int:
        """Run-in + all periods + the physical washouts between periods."""
        return (
            self.run_in_days
            + self.n_periods * self.period_days
            + (self.n_periods - 1) * self.washout_days
        )


@frozen
class Blinding:
    """Open (``blinded=False``) or blinded with coded labels held by someone else."""

    blinded: bool = False
    labels: tuple[str, str] = ("Pack 1", "Pack 2")
    allocation_holder: str = ""


#: Which days an ``ask_if`` outcome's analysis uses (``analyse = ...`` in its [[outcomes]] table).
#: ``every_day``: every day, a skipped day taking ``skipped_value`` (e.g. pain 0 on a
#: headache-free day: the mean over all days mixes how often and how bad). ``when_asked``: only
#: the days the question was asked (intensity when present: peak pain on headache days, with
#: how often living in the condition outcome).
ANALYSE_EVERY_DAY = "every_day"
ANALYSE_WHEN_ASKED = "when_asked"
ANALYSE_CHOICES = (ANALYSE_EVERY_DAY, ANALYSE_WHEN_ASKED)

#: Operators of an ``ask_if`` condition, longest first (so ``>=`` is not read as ``>``).
ASK_IF_OPERATORS = ("==", "!=", ">=", "<=", ">", "<")
_ASK_IF = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*([=!<>~]+)\s*(.*?)\s*$")


@frozen
class Condition:
    """When an outcome is asked: ``ask_if = "headache_day == yes"`` (stored value on the right)."""

    outcome: str
    operator: str
    value: float
    text: str

    def holds(self, value: float) -> bool:
        """Whether the condition outcome's stored ``value`` meets the condition."""
        op = self.operator
        if op == "==":
            return value == self.value
        if op == "!=":
            return value != self.value
        if op == ">=":
            return value >= self.value
        if op == "<=":
            return value <= self.value
        return value > self.value if op == ">" else value < self.value


@frozen
class OutcomeSpec:
    """One outcome recorded daily.

    ``mcid`` is on the scale the verdict uses: outcome units for continuous outcomes, days (or
    events) per 28 days for binary and count outcomes, expected category for ordinal outcomes.
    ``ask_if`` (skip logic): the question is asked only when the condition holds; on other days
    it is *skipped*. ``analyse`` says which days the analysis uses: ``"every_day"`` (a skipped
    day counts as ``skipped_value``, e.g. pain 0 on a headache-free day) or ``"when_asked"``
    (only the days it was asked: intensity when present, e.g. peak pain on headache days).
    ``skipped_value`` is what a skipped day *is* for the diary and the stopping rules; it is
    required with ``every_day`` and optional with ``when_asked``.
    """

    name: str
    kind: str = field(validator=one_of(KINDS))
    question: str = field()
    better: str = field(validator=one_of(DIRECTIONS))
    mcid: float = field()
    label: str = ""
    units: str = ""
    primary: bool = False
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[str, ...] = ()
    ask_if: Condition | None = None
    skipped_value: float | None = None
    analyse: str = field(default=ANALYSE_EVERY_DAY, validator=one_of(ANALYSE_CHOICES))

    @property
    def when_asked(self) -> bool:
        """Analysed only on the days it was asked (intensity when present)."""
        return self.ask_if is not None and self.analyse == ANALYSE_WHEN_ASKED

    @property
    def absent_category(self) -> int | None:
        """The category that cannot occur on a day an ordinal ``when_asked`` outcome is asked.

        Its ``skipped_value`` when that is the first or last category: severity ``"none"`` is
        what a headache-free day *is*, so a day asked because it is a headache day cannot be
        "none". ``None`` for every other outcome (all categories can occur when asked).
        """
        if self.kind != "ordinal" or not self.when_asked or self.skipped_value is None:
            return None
        index = int(self.skipped_value)
        return index if index in (0, len(self.categories) - 1) else None

    @property
    def analysed_categories(self) -> tuple[str, ...]:
        """The ordinal categories the analysis uses: all, less :attr:`absent_category`.

        An ordinal model carries one cutpoint per boundary between categories; a category that
        can never be observed (severity "none" on headache days) would leave its cutpoint to
        the prior alone, so it is not part of the analysed scale.
        """
        absent = self.absent_category
        return tuple(c for i, c in enumerate(self.categories) if i != absent)

    @property
    def category_offset(self) -> int:
        """Index in ``categories`` of the first analysed category (1 when "none" is left out):
        a stored value minus this offset is the analysed (model) category."""
        return 1 if self.absent_category == 0 else 0

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def scale_text(self) -> str:
        """The allowed values in words, for prompts and errors."""
        if self.kind == "binary":
            return "yes/no (1/0)"
        if self.kind == "ordinal":
            return ", ".join(f"{i}={c}" for i, c in enumerate(self.categories))
        low = "" if self.minimum is None else _fmt(self.minimum)
        high = "" if self.maximum is None else _fmt(self.maximum)
        if self.kind == "count":
            low = low or "0"
            return f"a whole number {low}–{high}" if high else f"a whole number ≥ {low}"
        if low and high:
            return f"a number {low}–{high}"
        return "a number"

    def parse_value(self, text: str) -> float:
        """Parse what a person typed into the stored number, or raise ``ValueError`` with a fix."""
        if any(ord(c) < 32 or ord(c) == 127 for c in text.strip(" \t\r\n")):
            # str.strip() would quietly drop separators like \x1f that float() refuses
            raise ValueError(
                f"{self.name} contains control characters: give {self.scale_text()} (got {text!r})"
            )
        raw = text.strip().lower()
        if self.kind == "binary":
            if raw in ("1", "yes", "y", "true"):
                return 1.0
            if raw in ("0", "no", "n", "false"):
                return 0.0
            raise ValueError(f"{self.name} must be yes or no (got {text!r})")
        if self.kind == "ordinal":
            lowered = [c.lower() for c in self.categories]
            if raw in lowered:
                return float(lowered.index(raw))
            try:
                number = float(raw)
            except ValueError:
                raise ValueError(
                    f"{self.name} must be one of {self.scale_text()} (got {text!r})"
                ) from None
            if number.is_integer() and 0 <= number < len(self.categories):
                return number
            raise ValueError(f"{self.name} must be one of {self.scale_text()} (got {text!r})")
        try:
            number = float(raw)
        except ValueError:
            raise ValueError(f"{self.name} must be {self.scale_text()} (got {text!r})") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"{self.name} must be {self.scale_text()} (got {text!r})")
        return self.check_value(number)

    def check_value(self, number: float) -> float:
        """Check a number against the declared scale; return it or raise ``ValueError``."""
        bad = f"{self.name} must be {self.scale_text()} (got {_fmt(number)})"
        if self.kind == "binary" and number not in (0.0, 1.0):
            raise ValueError(f"{self.name} must be yes or no, 1 or 0 (got {_fmt(number)})")
        if self.kind == "ordinal" and not (
            float(number).is_integer() and 0 <= number < len(self.categories)
        ):
            raise ValueError(f"{self.name} must be one of {self.scale_text()} (got {_fmt(number)})")
        if self.kind == "count" and (not float(number).is_integer() or number < 0):
            raise ValueError(bad)
        if self.minimum is not None and number < self.minimum:
            raise ValueError(bad)
        if self.maximum is not None and number > self.maximum:
            raise ValueError(bad)
        return float(number)


@frozen
class Analysis:
    """Analysis choices fixed before the data are seen."""

    autocorrelation: bool = True
    trend: str = field(default="none", validator=one_of(TRENDS))
    decision_threshold: float = 0.8
    min_days_per_period: int = 3


@frozen
class StoppingRule:
    """A rule that, when met, means: stop and call the supervising clinician.

    ``serious_adverse_event``: any serious adverse event. ``adverse_events``: at least ``count``
    events of at least ``severity``. ``outcome_threshold``: ``outcome`` at or beyond ``threshold``
    (in its worse direction) for ``days`` consecutive logged days.
    """

    kind: str = field(validator=one_of(STOPPING_KINDS))
    description: str = ""
    count: int = 1
    severity: str = field(default="severe", validator=one_of(SEVERITIES))
    outcome: str = ""
    threshold: float = 0.0
    days: int = 1


@frozen
class TrialProtocol:
    """A validated trial protocol. Build it with :meth:`from_toml` or :meth:`from_mapping`."""

    title: str
    trial_id: str
    patient: str
    condition: str
    comparator: Arm
    intervention: Arm
    design: Design
    outcomes: tuple[OutcomeSpec, ...]
    purpose: str = "clinical_care"
    ethics_approval: str = ""
    rationale: str = ""
    concurrent_therapies: tuple[str, ...] = ()
    supervision: Supervision = Supervision()
    blinding: Blinding = Blinding()
    analysis: Analysis = Analysis()
    stopping_rules: tuple[StoppingRule, ...] = ()
    planning: Mapping[str, Any] = field(factory=dict)

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def from_toml(cls, path: str | Path) -> TrialProtocol:
        """Read and validate a protocol file, reporting every problem at once.

        Raises
        ------
        ProtocolError
            When the file is missing, is not valid TOML, or breaks any rule; the message lists
            each problem with its field path and how to fix it.
        """
        path = Path(path)
        try:
            data = read_protocol_bytes(path)
        except FileNotFoundError:
            raise ProtocolError(
                [f"file not found: {path} (create one with `nof1 init DIR --template NAME`)"],
                source=path.name,
            ) from None
        except OSError as exc:
            raise ProtocolError(
                [f"cannot read {path} ({exc.strerror or exc})"], source=path.name
            ) from None
        return cls.from_text(decode_protocol(data, source=path.name), source=path.name)

    @classmethod
    def from_text(cls, text: str, source: str = "protocol.toml") -> TrialProtocol:
        """Parse TOML text; see :meth:`from_toml`."""
        text = text.removeprefix("\ufeff")  # a byte-order mark some editors add
        if "\x00" in text:
            line = text[: text.index("\x00")].count("\n") + 1
            raise ProtocolError(
                [f"line {line} contains a NUL byte: this is not a text file; save the protocol "
                 "as plain UTF-8 text"],
                source=source,
            )  # fmt: skip
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ProtocolError([f"not valid TOML: {exc}"], source=source) from None
        except RecursionError:
            raise ProtocolError(
                ["not valid TOML: arrays or tables are nested too deeply"], source=source
            ) from None
        return cls.from_mapping(data, source=source)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "protocol.toml") -> TrialProtocol:
        """Validate a parsed TOML mapping; see :meth:`from_toml`."""
        reader = _Reader(source)
        protocol = reader.read_protocol(data)
        if reader.problems or protocol is None:
            raise ProtocolError(reader.problems, source=source)
        return protocol

    # -- queries ----------------------------------------------------------------------------

    @property
    def primary_outcome(self) -> OutcomeSpec:
        return next(o for o in self.outcomes if o.primary)

    def outcome(self, name: str) -> OutcomeSpec:
        """The outcome called ``name``; ``KeyError`` naming the known outcomes otherwise."""
        for outcome in self.outcomes:
            if outcome.name == name:
                return outcome
        known = ", ".join(o.name for o in self.outcomes)
        raise KeyError(f"unknown outcome {name!r} (this protocol has: {known})")

    def arm(self, code: str) -> Arm:
        return self.comparator if code == "A" else self.intervention

    def skipped(self, values: Mapping[str, float]) -> set[str]:
        """Outcomes whose ``ask_if`` condition is false given one day's stored ``values``.

        A question is skipped only when its condition outcome has a value (given, or the
        ``skipped_value`` of a skipped condition outcome) that fails the condition; when the
        condition outcome is unknown the question is not known to be skipped.
        """
        effective = self.effective(values)
        return {
            o.name for o in self.outcomes if o.ask_if is not None and not self._asked(o, effective)
        }

    def effective(self, values: Mapping[str, float]) -> dict[str, float]:
        """One day's values as the diary and stopping rules read them: skipped questions get their
        ``skipped_value`` (a value logged for a question the day's answers skip is replaced);
        a skipped ``when_asked`` outcome without a ``skipped_value`` has no value that day."""
        result = dict(values)
        for o in self.outcomes:  # conditions refer to earlier outcomes (checked on reading)
            if o.ask_if is not None and not self._asked(o, result):
                if o.skipped_value is None:
                    result.pop(o.name, None)
                else:
                    result[o.name] = o.skipped_value
        return result

    @staticmethod
    def _asked(outcome: OutcomeSpec, values: Mapping[str, float]) -> bool:
        condition = outcome.ask_if
        if condition is None or condition.outcome not in values:
            return True
        return condition.holds(values[condition.outcome])

    @property
    def needs_supervision(self) -> bool:
        return self.supervision.required or self.intervention.category in SUPERVISED_CATEGORIES

    def start_problems(self) -> list[str]:
        """What must be fixed before ``nof1 start`` may lock this protocol (empty when ready)."""
        problems = []
        if self.design.start_date is None:
            problems.append("design.start_date is missing: add e.g. start_date = 2026-12-01")
        if self.design.seed is None:
            problems.append(
                "design.seed is missing: add a whole number, or re-create the workspace with "
                "`nof1 init` which draws one"
            )
        if self.needs_supervision:
            why = (
                f"intervention.category = {self.intervention.category!r}"
                if self.intervention.category in SUPERVISED_CATEGORIES
                else "supervision.required = true"
            )
            if not self.supervision.clinician.strip():
                problems.append(
                    f"supervision.clinician is empty but {why} needs a named supervising "
                    "clinician: fill it in with them before starting"
                )
            if self.supervision.signed_off is None:
                problems.append(
                    f"supervision.signed_off is missing but {why} needs the clinician's sign-off "
                    "date: add e.g. signed_off = 2026-11-20 once they have reviewed the protocol"
                )
        return problems

    # -- fingerprints -----------------------------------------------------------------------

    def normalized(self) -> dict[str, Any]:
        """A canonical, JSON-ready form: comments, key order and layout do not change it."""
        data: dict[str, Any] = _jsonable(self)
        for outcome in data["outcomes"]:
            # outcomes without skip logic normalize as before `ask_if` existed: locked trials
            # keep their fingerprint
            if outcome["ask_if"] is None and outcome["skipped_value"] is None:
                del outcome["ask_if"], outcome["skipped_value"]
            elif outcome["ask_if"] is not None:
                outcome["ask_if"] = outcome["ask_if"]["text"]
            if outcome["analyse"] == ANALYSE_EVERY_DAY:
                del outcome["analyse"]  # the default before `analyse` existed: same fingerprint
        return data

    def fingerprint(self) -> str:
        """SHA-256 of the whole normalized protocol."""
        return _sha256(self.normalized())

    def locked_fingerprint(self) -> str:
        """SHA-256 of the sections whose change after start needs an amendment."""
        data = self.normalized()
        return _sha256({key: data[key] for key in LOCKED_SECTIONS})

    def changed_locked_sections(self, other: TrialProtocol) -> list[str]:
        """Names of locked sections that differ between ``self`` and ``other``."""
        mine, theirs = self.normalized(), other.normalized()
        return [key for key in LOCKED_SECTIONS if mine[key] != theirs[key]]


# --------------------------------------------------------------------------------------------
# Editing the file text (keeps the template's comments)
# --------------------------------------------------------------------------------------------


def read_protocol_bytes(path: Path) -> bytes:
    """The first ``MAX_PROTOCOL_BYTES + 1`` bytes of a protocol file: enough to tell a protocol
    from a wrong file (or ``/dev/zero``) without reading all of it (see :func:`decode_protocol`).

    Raises ``OSError`` (e.g. ``FileNotFoundError``) for the caller to explain.
    """
    with path.open("rb") as handle:
        return handle.read(MAX_PROTOCOL_BYTES + 1)


def decode_protocol(data: bytes, source: str = "protocol.toml") -> str:
    """The text of a protocol file's bytes: UTF-8 (a byte-order mark is allowed).

    Raises
    ------
    ProtocolError
        When the file is too large to be a protocol, is UTF-16, or is not UTF-8, naming the line
        of the first bad byte.
    """
    if len(data) > MAX_PROTOCOL_BYTES:
        raise ProtocolError(
            [f"the file is over {MAX_PROTOCOL_BYTES:,} bytes, far too large for a protocol: "
             "check that it is the right file"],
            source=source,
        )  # fmt: skip
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ProtocolError(
            ["the file is UTF-16 text: save it as UTF-8 in your editor"], source=source
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ProtocolError(
            [f"not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}): save the file as "
             "UTF-8 in your editor"],
            source=source,
        ) from None  # fmt: skip


def set_design_values(text: str, values: Mapping[str, int | dt.date]) -> str:
    """Set keys of the ``[design]`` table in TOML text, keeping comments and layout.

    An existing ``key = ...`` line in the table is replaced; a missing key is added right after
    the ``[design]`` header. Used by ``nof1 init`` to write the seed and the start date.
    """
    lines = text.splitlines(keepends=True)
    try:
        # a header may carry a comment: ``[design]  # the randomized design``
        header = next(i for i, line in enumerate(lines) if _DESIGN_HEADER.match(line))
    except StopIteration:
        raise ProtocolError(["[design] table is missing: add a [design] section"]) from None
    end = next(
        (i for i in range(header + 1, len(lines)) if lines[i].lstrip().startswith("[")),
        len(lines),
    )
    for key, value in values.items():
        rendered = f"{key} = {value.isoformat() if isinstance(value, dt.date) else value}\n"
        pattern = re.compile(rf"^\s*#?\s*{re.escape(key)}\s*=")
        for i in range(header + 1, end):
            if pattern.match(lines[i]):
                lines[i] = rendered
                break
        else:
            lines.insert(header + 1, rendered)
            end += 1
    return "".join(lines)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------

_TOP_KEYS = {
    "trial",
    "comparator",
    "intervention",
    "supervision",
    "design",
    "blinding",
    "outcomes",
    "analysis",
    "stopping_rules",
    "planning",
}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_DESIGN_HEADER = re.compile(r"^\s*\[\s*design\s*\]\s*(#.*)?$")


class _Reader:
    """Walks a parsed TOML mapping, collecting every problem with its field path."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def problem(self, message: str) -> None:
        self.problems.append(message)

    # generic field readers; each returns the default (and records a problem) on bad input

    def table(self, data: Mapping[str, Any], key: str, required: bool = True) -> dict[str, Any]:
        value = data.get(key)
        if value is None:
            if required:
                self.problem(f"[{key}] table is missing: add a [{key}] section")
            return {}
        if not isinstance(value, dict):
            self.problem(f"{key} must be a table like [{key}] (got {_kind(value)})")
            return {}
        return value

    def unknown(self, data: Mapping[str, Any], path: str, allowed: set[str]) -> None:
        for key in data:
            if key not in allowed:
                where = f"{path}.{key}" if path else key
                self.problem(
                    f"{where} is not a known key: remove it or check the spelling "
                    f"(known: {', '.join(sorted(allowed))})"
                )

    def text(
        self,
        data: Mapping[str, Any],
        path: str,
        key: str,
        required: bool = False,
        default: str = "",
    ) -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.problem(f'{path}.{key} is missing: add {key} = "..."')
            return default
        if not isinstance(value, str):
            self.problem(f"{path}.{key} must be text in quotes (got {_kind(value)} {value!r})")
            return default
        if required and not value.strip():
            self.problem(f"{path}.{key} must not be empty")
        return value

    def choice(
        self, data: Mapping[str, Any], path: str, key: str, options: tuple[str, ...], default: str
    ) -> str:
        value = data.get(key, default)
        if value not in options:
            self.problem(f"{path}.{key} must be one of {', '.join(options)} (got {value!r})")
            return default
        return str(value)

    def boolean(self, data: Mapping[str, Any], path: str, key: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.problem(f"{path}.{key} must be true or false (got {value!r})")
            return default
        return value

    def integer(
        self,
        data: Mapping[str, Any],
        path: str,
        key: str,
        default: int | None,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = data.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(f"{path}.{key} must be a whole number (got {value!r})")
            return default
        if minimum is not None and value < minimum:
            self.problem(f"{path}.{key} must be ≥ {minimum} (got {value})")
            return default
        if maximum is not None and value > maximum:
            self.problem(f"{path}.{key} must be ≤ {maximum} (got {value})")
            return default
        return value

    def number(
        self, data: Mapping[str, Any], path: str, key: str, default: float | None
    ) -> float | None:
        value = data.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(f"{path}.{key} must be a number (got {value!r})")
            return default
        return float(value)

    def date(self, data: Mapping[str, Any], path: str, key: str) -> dt.date | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            self.problem(
                f"{path}.{key} must be a date without quotes, e.g. {key} = 2026-12-01 "
                f"(got {value!r})"
            )
            return None
        return value

    def strings(self, data: Mapping[str, Any], path: str, key: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(f'{path}.{key} must be a list of texts, e.g. ["a", "b"] (got {value!r})')
            return ()
        return tuple(value)

    # sections

    def read_protocol(self, data: Mapping[str, Any]) -> TrialProtocol | None:
        self.unknown(data, "", _TOP_KEYS)
        trial = self.table(data, "trial")
        self.unknown(
            trial,
            "trial",
            {
                "title",
                "id",
                "patient",
                "purpose",
                "ethics_approval",
                "condition",
                "concurrent_therapies",
                "rationale",
            },
        )
        title = self.text(trial, "trial", "title", required=True)
        trial_id = self.text(trial, "trial", "id", required=True)
        if trial_id and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", trial_id):
            self.problem(
                f"trial.id must use letters, digits, '-', '_' or '.' only (got {trial_id!r})"
            )
        patient = self.text(trial, "trial", "patient", required=True)
        purpose = self.choice(trial, "trial", "purpose", PURPOSES, "clinical_care")
        ethics = self.text(trial, "trial", "ethics_approval")
        if purpose == "research" and not ethics.strip():
            self.problem(
                "trial.ethics_approval is empty but trial.purpose = 'research' needs one: add the "
                'ethics committee and reference, e.g. ethics_approval = "REC 26/LO/0123"'
            )
        condition = self.text(trial, "trial", "condition", required=True)
        therapies = self.strings(trial, "trial", "concurrent_therapies")
        rationale = self.text(trial, "trial", "rationale")

        comparator = self.read_arm(data, "comparator", "A")
        intervention = self.read_arm(data, "intervention", "B")
        supervision = self.read_supervision(data)
        design = self.read_design(data)
        blinding = self.read_blinding(data)
        outcomes = self.read_outcomes(data)
        analysis = self.read_analysis(data)
        rules = self.read_stopping_rules(data, outcomes)
        planning = self.table(data, "planning", required=False)

        if self.problems or comparator is None or intervention is None or design is None:
            return None
        return TrialProtocol(
            title=title,
            trial_id=trial_id,
            patient=patient,
            condition=condition,
            comparator=comparator,
            intervention=intervention,
            design=design,
            outcomes=outcomes,
            purpose=purpose,
            ethics_approval=ethics,
            rationale=rationale,
            concurrent_therapies=therapies,
            supervision=supervision,
            blinding=blinding,
            analysis=analysis,
            stopping_rules=rules,
            planning=planning,
        )

    def read_arm(self, data: Mapping[str, Any], key: str, code: str) -> Arm | None:
        table = self.table(data, key)
        if not table:
            return None  # already reported; reading its keys would only echo the problem
        self.unknown(table, key, {"name", "dose", "timing", "notes", "category"})
        name = self.text(table, key, "name", required=True)
        arm = Arm(
            code=code,
            name=name,
            dose=self.text(table, key, "dose"),
            timing=self.text(table, key, "timing"),
            notes=self.text(table, key, "notes"),
            category=self.choice(table, key, "category", CATEGORIES, "other"),
        )
        return arm

    def read_supervision(self, data: Mapping[str, Any]) -> Supervision:
        table = self.table(data, "supervision", required=False)
        self.unknown(table, "supervision", {"required", "clinician", "contact", "signed_off"})
        return Supervision(
            required=self.boolean(table, "supervision", "required", False),
            clinician=self.text(table, "supervision", "clinician"),
            contact=self.text(table, "supervision", "contact"),
            signed_off=self.date(table, "supervision", "signed_off"),
        )

    def read_design(self, data: Mapping[str, Any]) -> Design | None:
        table = self.table(data, "design")
        p = "design"
        self.unknown(
            table,
            p,
            {
                "scheme",
                "blocks",
                "period_days",
                "run_in_days",
                "washout_days",
                "analytic_washout_days",
                "max_run",
                "start_date",
                "seed",
            },
        )
        scheme = self.choice(table, p, "scheme", SCHEMES, "pairwise")
        blocks = self.integer(table, p, "blocks", 3, minimum=1, maximum=50)
        period_days = self.integer(table, p, "period_days", 14, minimum=1, maximum=365)
        run_in = self.integer(table, p, "run_in_days", 0, minimum=0, maximum=365)
        washout = self.integer(table, p, "washout_days", 0, minimum=0, maximum=365)
        analytic = self.integer(table, p, "analytic_washout_days", 0, minimum=0)
        max_run = self.integer(table, p, "max_run", 2, minimum=1)
        start = self.date(table, p, "start_date")
        seed = self.integer(table, p, "seed", None, minimum=0, maximum=2**63 - 1)
        assert blocks is not None and period_days is not None and run_in is not None
        assert washout is not None and analytic is not None and max_run is not None
        problems = design_problems(
            scheme, blocks, period_days, analytic, run_in_days=run_in, washout_days=washout
        )
        for problem in problems:
            self.problem(problem)
        if scheme == "restricted" and "max_run" not in table:
            self.problem("design.max_run is missing: scheme 'restricted' needs e.g. max_run = 2")
        if problems:
            return None
        return Design(
            scheme=scheme,
            blocks=blocks,
            period_days=period_days,
            run_in_days=run_in,
            washout_days=washout,
            analytic_washout_days=analytic,
            max_run=max_run,
            start_date=start,
            seed=seed,
        )

    def read_blinding(self, data: Mapping[str, Any]) -> Blinding:
        table = self.table(data, "blinding", required=False)
        self.unknown(table, "blinding", {"blinded", "labels", "allocation_holder"})
        blinded = self.boolean(table, "blinding", "blinded", False)
        labels = self.strings(table, "blinding", "labels") or ("Pack 1", "Pack 2")
        holder = self.text(table, "blinding", "allocation_holder")
        if (
            len(labels) != 2
            or labels[0].strip() == labels[1].strip()
            or not all(s.strip() for s in labels)
        ):
            self.problem(
                f'blinding.labels must be two different non-empty codes, e.g. ["Pack 1", "Pack 2"] '
                f"(got {list(labels)!r})"
            )
            labels = ("Pack 1", "Pack 2")
        if blinded and not holder.strip():
            self.problem(
                "blinding.allocation_holder is empty but blinding.blinded = true: name who holds "
                'the sealed allocation, e.g. allocation_holder = "Pharmacist at ..."'
            )
        return Blinding(blinded=blinded, labels=(labels[0], labels[1]), allocation_holder=holder)

    def read_outcomes(self, data: Mapping[str, Any]) -> tuple[OutcomeSpec, ...]:
        raw = data.get("outcomes")
        if raw is None:
            self.problem("[[outcomes]] is missing: add at least one [[outcomes]] table")
            return ()
        if not isinstance(raw, list) or not all(isinstance(o, dict) for o in raw) or not raw:
            self.problem("outcomes must be one or more [[outcomes]] tables")
            return ()
        outcomes: list[OutcomeSpec] = []
        seen: set[str] = set()
        for i, table in enumerate(raw):
            outcome = self.read_outcome(table, f"outcomes[{i}]")
            if outcome is None:
                continue
            if outcome.name in seen:
                self.problem(f"outcomes[{i}].name {outcome.name!r} is used twice: rename one")
            seen.add(outcome.name)
            outcomes.append(outcome)
        if len(outcomes) == len(raw) and len(seen) == len(raw):
            outcomes = self.read_skip_logic(raw, outcomes)
        primaries = [o.name for o in outcomes if o.primary]
        if len(outcomes) == len(raw) and len(primaries) != 1:
            self.problem(
                "exactly one outcome must have primary = true "
                f"(got {len(primaries)}{': ' + ', '.join(primaries) if primaries else ''})"
            )
        return tuple(outcomes)

    def read_outcome(self, table: Mapping[str, Any], p: str) -> OutcomeSpec | None:
        self.unknown(
            table,
            p,
            {
                "name",
                "kind",
                "question",
                "better",
                "mcid",
                "label",
                "units",
                "primary",
                "min",
                "max",
                "categories",
                "ask_if",
                "skipped_value",
                "analyse",
            },
        )
        before = len(self.problems)
        name = self.text(table, p, "name", required=True)
        if name and not _NAME.match(name):
            self.problem(
                f"{p}.name must be lower-case letters, digits and '_' starting with a letter, as "
                f"it is typed in `nof1 log {name.lower().replace(' ', '_')}=...` (got {name!r})"
            )
        kind = self.choice(table, p, "kind", KINDS, "continuous")
        question = self.text(table, p, "question", required=True)
        better = self.choice(table, p, "better", DIRECTIONS, "lower")
        if "better" not in table:
            self.problem(f'{p}.better is missing: add better = "lower" or "higher"')
        mcid = self.number(table, p, "mcid", None)
        if mcid is None and "mcid" not in table:
            self.problem(f"{p}.mcid is missing: add the minimal clinically important difference")
        elif mcid is not None and mcid <= 0:
            self.problem(f"{p}.mcid must be > 0 (got {_fmt(mcid)})")
        minimum = self.number(table, p, "min", None)
        maximum = self.number(table, p, "max", None)
        categories = self.strings(table, p, "categories")
        if table.get("kind", "continuous") not in KINDS:
            kind = ""  # already reported; skip the kind-specific checks that would only echo it
        if kind == "continuous" and (minimum is None or maximum is None):
            self.problem(f"{p}: a continuous outcome needs its scale: add min = ... and max = ...")
        if minimum is not None and maximum is not None and minimum >= maximum:
            self.problem(f"{p}.min must be < {p}.max (got {_fmt(minimum)} and {_fmt(maximum)})")
        if kind == "ordinal":
            if len(categories) < 3:
                self.problem(
                    f"{p}.categories must list at least 3 ordered categories for an ordinal "
                    f"outcome, best or worst first (got {list(categories)!r})"
                )
        elif categories:
            self.problem(f"{p}.categories is only for ordinal outcomes: remove it")
        if kind in ("binary", "ordinal") and (minimum is not None or maximum is not None):
            self.problem(f"{p}.min/max are not used for {kind} outcomes: remove them")
        if kind == "count" and minimum is not None and minimum < 0:
            self.problem(f"{p}.min must be ≥ 0 for a count (got {_fmt(minimum)})")
        primary = self.boolean(table, p, "primary", False)
        if len(self.problems) > before or mcid is None:
            return None
        return OutcomeSpec(
            name=name,
            kind=kind,
            question=question,
            better=better,
            mcid=mcid,
            label=self.text(table, p, "label"),
            units=self.text(table, p, "units"),
            primary=primary,
            minimum=minimum,
            maximum=maximum,
            categories=categories,
        )

    def read_skip_logic(
        self, raw: list[dict[str, Any]], outcomes: list[OutcomeSpec]
    ) -> list[OutcomeSpec]:
        """Read every ``ask_if``/``skipped_value`` once all outcomes are known."""
        by_name = {o.name: o for o in outcomes}
        order = {o.name: i for i, o in enumerate(outcomes)}
        known = ", ".join(by_name)
        refers: dict[str, str] = {}
        result = []
        for i, table in enumerate(raw):
            name = table.get("name")
            spec = by_name.get(name) if isinstance(name, str) else None
            keys = ("ask_if", "skipped_value", "analyse")
            if spec is None or not any(key in table for key in keys):
                if spec is not None:
                    result.append(spec)
                continue
            p = f"outcomes[{i}]"
            analyse = self.read_analyse(p, table)
            text = self.text(table, p, "ask_if")
            if "ask_if" not in table:
                used = [key for key in ("skipped_value", "analyse") if key in table]
                self.problem(
                    f"{p}.{' and '.join(used)} {'is' if len(used) == 1 else 'are'} only used with "
                    f'ask_if: add ask_if = "{outcomes[0].name} == {_example(outcomes[0])}" or '
                    f"remove {' and '.join(used)}"
                )
                continue
            if not isinstance(table["ask_if"], str):
                continue  # reported by self.text: one problem per mistake
            condition = self.read_condition(p, text, spec, by_name, known)
            optional = analyse == ANALYSE_WHEN_ASKED
            skipped = self.read_skipped_value(p, table, spec, optional=optional)
            if condition is None or analyse is None or (skipped is None and not optional):
                continue
            if optional and "skipped_value" in table and skipped is None:
                continue  # a bad skipped_value: reported
            refers[spec.name] = condition.outcome
            read = evolve(spec, ask_if=condition, skipped_value=skipped, analyse=analyse)
            self.check_asked_categories(p, read)
            result.append(read)
        for i, table in enumerate(raw):
            start = table.get("name")
            if not isinstance(start, str) or start not in refers:
                continue
            chain, node = [start], refers[start]
            while node in refers and node not in chain:
                chain.append(node)
                node = refers[node]
            if node == start:
                self.problem(
                    f"outcomes[{i}].ask_if: the conditions form a cycle "
                    f"({' → '.join([*chain, start])}), so none of them could ever be asked: "
                    "make one of them unconditional"
                )
            elif order[refers[start]] > order[start] and node not in chain:
                self.problem(
                    f"outcomes[{i}].ask_if refers to {refers[start]!r}, which is declared after "
                    f"{start!r}: move the [[outcomes]] table of {start!r} below it (a question "
                    "is asked after the answer it depends on)"
                )
        return result

    def read_condition(
        self,
        p: str,
        text: str,
        spec: OutcomeSpec,
        by_name: Mapping[str, OutcomeSpec],
        known: str,
    ) -> Condition | None:
        example = 'e.g. ask_if = "headache_day == yes"'
        match = _ASK_IF.match(text)
        if not match or not match.group(3):
            self.problem(f"{p}.ask_if must be 'outcome operator value', {example} (got {text!r})")
            return None
        name, operator, raw = match.groups()
        bad = False
        if operator not in ASK_IF_OPERATORS:
            self.problem(
                f"{p}.ask_if operator {operator!r} is not known: use one of "
                f"{', '.join(ASK_IF_OPERATORS)}, {example} (got {text!r})"
            )
            bad = True
        target = by_name.get(name)
        if name == spec.name:
            self.problem(
                f"{p}.ask_if refers to {name!r} itself: a question can only depend on another "
                f"outcome's answer (got {text!r})"
            )
            return None
        if target is None:
            self.problem(
                f"{p}.ask_if names unknown outcome {name!r} (this protocol has: {known}) "
                f"(got {text!r})"
            )
            return None
        try:
            value = target.parse_value(raw.strip().strip("\"'"))
        except ValueError as exc:
            self.problem(f"{p}.ask_if: {raw!r} is not a value of {name}: {exc}")
            return None
        if bad:
            return None
        return Condition(outcome=name, operator=operator, value=value, text=text.strip())

    def check_asked_categories(self, p: str, spec: OutcomeSpec) -> None:
        """An ordinal ``when_asked`` outcome: its ``skipped_value`` is the category meaning
        "absent" (first or last), and at least 3 categories remain to be analysed."""
        if spec.kind != "ordinal" or not spec.when_asked or spec.skipped_value is None:
            return
        index, k = int(spec.skipped_value), len(spec.categories)
        skipped = spec.categories[index] if 0 <= index < k else str(index)
        if spec.absent_category is None:
            self.problem(
                f"{p}.skipped_value of an ordinal outcome analysed when asked (analyse = "
                f'"when_asked") is the category that means "absent" on a skipped day, which '
                f"cannot occur on a day it is asked, so it must be the first or the last of "
                f"{spec.name}'s categories ({spec.categories[0]} or {spec.categories[-1]}) "
                f"(got {skipped!r}): reorder the categories or remove skipped_value"
            )
            return
        left = spec.analysed_categories
        if len(left) < 3:
            self.problem(
                f"{p}: {spec.name} is analysed only when asked, where its skipped_value "
                f"{skipped!r} cannot occur, which leaves {len(left)} categories "
                f"({', '.join(left)}); an ordinal analysis needs at least 3: add a category, "
                'or use analyse = "every_day"'
            )

    def read_analyse(self, p: str, table: Mapping[str, Any]) -> str | None:
        """``analyse``: which days an ``ask_if`` outcome's analysis uses (None: reported)."""
        if "analyse" not in table:
            return ANALYSE_EVERY_DAY
        raw = table["analyse"]
        if raw in ANALYSE_CHOICES:
            return str(raw)
        if isinstance(raw, str):  # repr shows control characters escaped
            shown = repr(raw) if len(raw) <= 40 else f"{raw[:40]!r}…"
        else:
            shown = _kind(raw)
        self.problem(
            f'{p}.analyse must be "when_asked" (only the days the question was asked: '
            'intensity when present, e.g. pain on headache days) or "every_day" (every day, a '
            f"skipped day counting as skipped_value) (got {shown})"
        )
        return None

    def read_skipped_value(
        self, p: str, table: Mapping[str, Any], spec: OutcomeSpec, *, optional: bool = False
    ) -> float | None:
        raw = table.get("skipped_value")
        if raw is None:
            if not optional:
                self.problem(
                    f"{p}.skipped_value is missing: with ask_if, say what a skipped day means "
                    f"for the analysis, e.g. skipped_value = {_example(spec, skipped=True)} "
                    '(pain 0 on a headache-free day), or add analyse = "when_asked" to '
                    "analyse only the days it was asked (intensity when present)"
                )
            return None
        try:
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                raise ValueError(f"{spec.name} must be {spec.scale_text()} (got {raw!r})")
            return spec.parse_value(str(raw))
        except ValueError as exc:
            self.problem(f"{p}.skipped_value is not a value of {spec.name}: {exc}")
            return None

    def read_analysis(self, data: Mapping[str, Any]) -> Analysis:
        table = self.table(data, "analysis", required=False)
        p = "analysis"
        self.unknown(
            table, p, {"autocorrelation", "trend", "decision_threshold", "min_days_per_period"}
        )
        threshold = self.number(table, p, "decision_threshold", 0.8)
        assert threshold is not None
        if not 0.5 < threshold < 1:
            self.problem(f"{p}.decision_threshold must be between 0.5 and 1 (got {threshold})")
            threshold = 0.8
        min_days = self.integer(table, p, "min_days_per_period", 3, minimum=1)
        assert min_days is not None
        return Analysis(
            autocorrelation=self.boolean(table, p, "autocorrelation", True),
            trend=self.choice(table, p, "trend", TRENDS, "none"),
            decision_threshold=threshold,
            min_days_per_period=min_days,
        )

    def read_stopping_rules(
        self, data: Mapping[str, Any], outcomes: tuple[OutcomeSpec, ...]
    ) -> tuple[StoppingRule, ...]:
        raw = data.get("stopping_rules", [])
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            self.problem("stopping_rules must be [[stopping_rules]] tables")
            return ()
        # Names of every [[outcomes]] table, valid or not: a rule naming an outcome that has its
        # own problems is not reported again. Without any outcomes there is nothing to check.
        raw_outcomes = data.get("outcomes")
        names = {
            str(o["name"])
            for o in (raw_outcomes if isinstance(raw_outcomes, list) else [])
            if isinstance(o, dict) and "name" in o
        }
        rules = []
        for i, table in enumerate(raw):
            p = f"stopping_rules[{i}]"
            self.unknown(
                table,
                p,
                {"kind", "description", "count", "severity", "outcome", "threshold", "days"},
            )
            kind = self.choice(table, p, "kind", STOPPING_KINDS, "serious_adverse_event")
            outcome = self.text(table, p, "outcome")
            if kind == "outcome_threshold":
                if names and outcome not in names:
                    self.problem(
                        f"{p}.outcome must name one of the outcomes ({', '.join(sorted(names))}) "
                        f"(got {outcome!r})"
                    )
                if "threshold" not in table:
                    self.problem(f"{p}.threshold is missing: add the value that triggers the rule")
            rules.append(
                StoppingRule(
                    kind=kind,
                    description=self.text(table, p, "description"),
                    count=self.integer(table, p, "count", 1, minimum=1) or 1,
                    severity=self.choice(table, p, "severity", SEVERITIES, "severe"),
                    outcome=outcome,
                    threshold=self.number(table, p, "threshold", 0.0) or 0.0,
                    days=self.integer(table, p, "days", 1, minimum=1) or 1,
                )
            )
        return tuple(rules)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _example(spec: OutcomeSpec, skipped: bool = False) -> str:
    if spec.kind == "binary":
        return '"no"' if skipped else "yes"
    if spec.kind == "ordinal":
        return f'"{spec.categories[0]}"'
    return _fmt(spec.minimum or 0)


def _kind(value: Any) -> str:
    names: dict[type, str] = {
        str: "text",
        int: "a number",
        float: "a number",
        bool: "true/false",
        list: "a list",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)


def _jsonable(value: Any) -> Any:
    convert: Callable[[Any], Any] = _jsonable
    if hasattr(value, "__attrs_attrs__"):
        return {a.name: convert(getattr(value, a.name)) for a in value.__attrs_attrs__}
    if isinstance(value, Mapping):
        return {str(k): convert(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [convert(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _sha256(data: Any) -> str:
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
