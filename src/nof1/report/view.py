"""The report's view model: what is said, independent of how it is drawn.

``context`` builds a :class:`ReportView` from a trial record and an analysis result; ``html`` and
``pdf`` only walk it. Because both renderers read the same blocks, the HTML and the PDF cannot
drift apart in content. Every text here is final wording with numbers already formatted in units.
"""

from __future__ import annotations

from attrs import field, frozen


@frozen
class Paragraph:
    """A paragraph; ``tone`` is ``"normal"``, ``"note"`` (small print) or ``"warning"``."""

    text: str
    tone: str = "normal"


@frozen
class Bullets:
    items: tuple[str, ...]


@frozen
class Facts:
    """Label/value rows (a definition list)."""

    rows: tuple[tuple[str, str], ...]


@frozen
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    note: str = ""
    #: Relative column widths (for the PDF); empty means equal widths.
    widths: tuple[float, ...] = ()


@frozen
class Figure:
    """A figure by key into the figures dict (PNG bytes), with its caption and alt text."""

    key: str
    caption: str
    alt: str


@frozen
class Heading:
    """A sub-heading inside a section."""

    text: str


Block = Paragraph | Bullets | Facts | Table | Figure | Heading


@frozen
class Section:
    """One numbered section of the report; ``cent`` names the CENT 2015 items it covers."""

    id: str
    title: str
    blocks: tuple[Block, ...]
    cent: str = ""


@frozen
class ProbabilityBar:
    """Probabilities (0-1) that the effect is a meaningful benefit, negligible, meaningful harm."""

    benefit: float
    negligible: float
    harm: float
    mcid_text: str
    threshold: float = 0.8

    @property
    def parts(self) -> tuple[tuple[str, float, str, str], ...]:
        """(label, probability, css class, formatted percentage) in display order."""
        from nof1.report.fmt import percent

        return tuple(
            (label, p, cls, percent(p, self.threshold))
            for label, p, cls in (
                ("Meaningful benefit", self.benefit, "benefit"),
                ("Negligible", self.negligible, "negligible"),
                ("Meaningful harm", self.harm, "harm"),
            )
        )


@frozen
class Headline:
    """Page 1's result for the primary outcome."""

    outcome: str
    question: str
    effect: str  # "−2.3 headache days per 28 days (95% CrI −4.1 to −0.6)" or "not estimated"
    effect_plain: str  # "2.3 fewer headache days per 28 days on Magnesium than on Placebo"
    relative: str  # "" when not applicable
    bar: ProbabilityBar | None
    verdict: str
    withheld_reason: str  # "" when a verdict is given
    mcid: str


@frozen
class FrontPage:
    title: str
    subtitle: str
    facts: tuple[tuple[str, str], ...]
    design: str
    headline: Headline
    adherence: str
    completeness: str
    serious_events: str
    other_outcomes: tuple[tuple[str, str, str], ...]  # (outcome, effect, verdict)
    notes: tuple[str, ...]  # warnings a clinician must see (diagnostics, amendments, early stop)


@frozen
class ReportView:
    title: str
    interim: bool
    interim_text: str
    front: FrontPage
    sections: tuple[Section, ...]
    footer: str
    metadata: dict[str, str] = field(factory=dict)
