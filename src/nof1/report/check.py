"""The posterior predictive checks in the report: exactly the checks that ran, and those that did
not with why (:class:`nof1.model.check.PredictiveCheck`); the methods section includes it."""

from __future__ import annotations

from collections.abc import Sequence

from nof1.model.check import FLAG_HIGH, FLAG_LOW
from nof1.report import fmt
from nof1.report.context import title
from nof1.report.view import Table
from nof1.summary import OutcomeResult

NOT_RUN = "not run"


def predictive_check_table(outcomes: Sequence[OutcomeResult]) -> Table:
    """One row per check and outcome: statistic of the data, of the replicates, p, result."""
    rows: list[tuple[str, ...]] = []
    for o in outcomes:
        c = o.predictive_check
        if c is None:
            rows.append((title(o), "all checks", "–", "–", "–", NOT_RUN))
            continue
        for run in c.ran:
            rows.append(
                (
                    title(o),
                    run.label,
                    fmt.number(run.observed, 2),
                    fmt.number(run.replicated, 2),
                    fmt.p_value(run.p_value),
                    "possible misfit" if run.flagged else "no misfit detected",
                )
            )
        for skipped in c.not_run:
            rows.append((title(o), skipped.label, "–", "–", "–", f"{NOT_RUN}: {skipped.reason}"))
    draws = max((o.predictive_check.draws for o in outcomes if o.predictive_check), default=0)
    replicated = f"{draws} data sets" if draws else "data sets"
    return Table(
        ("Outcome", "Check", "Data", "Replicated (median)", "p", "Result"),
        tuple(rows),
        caption="Posterior predictive checks",
        note=f"Each statistic of the data is compared with the same statistic of {replicated} "
        "replicated from the fitted model; residuals are the data minus the model's expected "
        "value. p is the share of replicated data sets with a larger statistic (ties count "
        f"half): below {FLAG_LOW:g} or above {FLAG_HIGH:g} means the model reproduces the data "
        "poorly in that respect. A flag calls for caution; it does not withhold the verdict.",
        widths=(2.2, 3.6, 1.2, 1.6, 1.0, 2.8),
    )
