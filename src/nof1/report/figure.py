"""The report's figures: timeline, daily series per outcome, posterior of the effect.

This is the only module in nof1 that draws. It uses matplotlib's object API (``Figure`` without
pyplot: no global state, no display needed) and returns PNG bytes that the HTML embeds as base64
and the PDF places directly. Colours are the Okabe–Ito colour-blind-safe palette; arms are also
told apart by marker shape so a grey-scale print still reads.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from nof1.report import fmt
from nof1.report.context import TrialRecord, arm_names, title, units
from nof1.summary import AnalysisResult, OutcomeResult
from nof1.vocab import BINARY, EXPOSURE_DAYS, exposure_factor

#: Okabe & Ito (2008) colour-blind-safe colours.
OKABE_ITO = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
}
ARM_COLOUR = {"A": OKABE_ITO["blue"], "B": OKABE_ITO["orange"]}
ARM_MARKER = {"A": "o", "B": "s"}
BENEFIT, HARM, NEGLIGIBLE = OKABE_ITO["green"], OKABE_ITO["vermillion"], "#B0B0B0"
GREY = "#8C8C8C"
DPI = 200
WIDTH = 7.0  # inches: the text width of an A4 page with 2 cm margins

_RC: dict[str, Any] = {
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.labelsize": 8.5,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "hatch.linewidth": 0.6,
}


def draw_figures(record: TrialRecord, result: AnalysisResult, through: dt.date) -> dict[str, bytes]:
    """All figures of the report as PNG bytes, keyed as the sections refer to them."""
    import matplotlib

    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        figures = {"timeline": _png(timeline(record, through))}
        for outcome in result.outcomes:
            figures[f"series-{outcome.name}"] = _png(series(record, outcome, through))
            draws = outcome.effect_draws
            if (
                draws is not None
                and np.asarray(draws).size > 1
                and np.all(np.isfinite(np.asarray(draws, dtype=float)))
            ):
                figures[f"posterior-{outcome.name}"] = _png(posterior(record, outcome))
    return figures


def draw_posteriors(result: AnalysisResult, arm_b: str, arm_a: str, t: float) -> dict[str, bytes]:
    """The posterior figure of every outcome with finite draws (the CSV report's figures)."""
    import matplotlib

    figures = {}
    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]
        for outcome in result.outcomes:
            draws = np.asarray(outcome.effect_draws, dtype=float)
            if draws.size > 1 and np.all(np.isfinite(draws)):
                figures[f"posterior-{outcome.name}"] = _png(
                    posterior_figure(outcome, arm_b, arm_a, t)
                )
    return figures


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(
        buffer,
        format="png",
        dpi=DPI,
        bbox_inches="tight",
        pad_inches=0.05,
        metadata={"Software": None},
    )
    return buffer.getvalue()


def _num(d: dt.date) -> float:
    """Dates as plain day numbers on the x-axis (matplotlib's date units, days since epoch)."""
    import matplotlib.dates as mdates

    return float(mdates.date2num(d))  # type: ignore[no-untyped-call]


def _date_axis(ax: Axes, start: dt.date, end: dt.date) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    formatter = mdates.ConciseDateFormatter(locator)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_formatter(formatter)
    ax.set_xlim(_num(start) - 0.5, _num(end) + 0.5)


def _shade_periods(ax: Axes, record: TrialRecord, ymin: float = 0, ymax: float = 1) -> None:
    s = record.schedule
    for per in s.periods:
        x0, x1 = _num(per.start) - 0.5, _num(per.end) + 0.5
        ax.axvspan(x0, x1, ymin, ymax, color=ARM_COLOUR[per.arm], alpha=0.13, lw=0)
        if per.analysed_start > per.start:
            ax.axvspan(
                x0,
                _num(per.analysed_start) - 0.5,
                ymin,
                ymax,
                facecolor="none",
                edgecolor=GREY,
                hatch="///",
                lw=0,
            )
    if s.run_in_days:
        ax.axvspan(
            _num(s.start) - 0.5,
            _num(s.periods[0].start) - 0.5,
            ymin,
            ymax,
            color=GREY,
            alpha=0.10,
            lw=0,
        )


def _arm_legend(record: TrialRecord) -> list[Patch]:
    p = record.protocol
    handles = [
        Patch(facecolor=ARM_COLOUR["A"], alpha=0.35, label=f"A: {p.comparator.name}"),
        Patch(facecolor=ARM_COLOUR["B"], alpha=0.35, label=f"B: {p.intervention.name}"),
    ]
    if record.schedule.analytic_washout_days:
        handles.append(
            Patch(
                facecolor="white",
                edgecolor=GREY,
                hatch="///",
                label="Analytic washout (not analysed)",
            )
        )
    if record.schedule.run_in_days:
        handles.append(Patch(facecolor=GREY, alpha=0.2, label="Run-in"))
    return handles


def timeline(record: TrialRecord, through: dt.date) -> Figure:
    """Planned periods (top row) and what was followed (bottom row), on one date axis."""
    s, p = record.schedule, record.protocol
    fig = Figure(figsize=(WIDTH, 2.0))
    ax = fig.add_subplot()
    rows = {"Planned": 1.0, "Followed": 0.0}
    h = 0.62
    if s.run_in_days:
        ax.add_patch(
            Rectangle(
                (_num(s.start) - 0.5, 1 - h / 2), s.run_in_days, h, facecolor=GREY, alpha=0.3, lw=0
            )
        )
    for per in s.periods:
        x0 = _num(per.start) - 0.5
        ax.add_patch(
            Rectangle(
                (x0, 1 - h / 2),
                per.days,
                h,
                facecolor=ARM_COLOUR[per.arm],
                alpha=0.85,
                edgecolor="white",
                lw=1,
            )
        )
        washout = (per.analysed_start - per.start).days
        if washout:
            ax.add_patch(
                Rectangle(
                    (x0, 1 - h / 2),
                    washout,
                    h,
                    facecolor="none",
                    edgecolor="white",
                    hatch="////",
                    lw=0,
                )
            )
        ax.text(
            x0 + per.days / 2,
            1,
            per.arm,
            ha="center",
            va="center",
            color="white",
            fontsize=8,
            fontweight="bold",
        )
    primary = p.primary_outcome.name
    logged = record.logged_dates(primary)
    took = {a.date: a.took for a in record.adherence}
    missed_x: list[float] = []
    for day in s.days():
        if day.date > through:
            break
        if day.date in logged:
            colour = ARM_COLOUR[day.arm] if day.arm else GREY
            alpha = 0.45 if day.analytic_washout or not day.arm else 0.85
            ax.add_patch(
                Rectangle((_num(day.date) - 0.5, -h / 2), 1, h, facecolor=colour, alpha=alpha, lw=0)
            )
        if day.arm and took.get(day.date) in ("no", "partial"):
            missed_x.append(_num(day.date))
    handles: list[object] = [
        Patch(facecolor=ARM_COLOUR["A"], alpha=0.85, label=f"A: {p.comparator.name}"),
        Patch(facecolor=ARM_COLOUR["B"], alpha=0.85, label=f"B: {p.intervention.name}"),
    ]
    if s.analytic_washout_days:
        handles.append(
            Patch(facecolor=ARM_COLOUR["B"], alpha=0.4, label="Pale: analytic washout day")
        )
    if missed_x:
        ax.plot(
            missed_x,
            [-h / 2 - 0.12] * len(missed_x),
            ls="none",
            marker="|",
            ms=5,
            color=OKABE_ITO["black"],
        )
        from matplotlib.lines import Line2D

        handles.append(
            Line2D(
                [], [], ls="none", marker="|", color="black", label="Treatment not (fully) taken"
            )
        )
    events = [e for e in record.adverse_events if s.start <= e.date <= through]
    if events:
        from matplotlib.lines import Line2D

        ax.plot(
            [_num(e.date) for e in events if not e.serious],
            [h / 2 + 0.14] * sum(1 for e in events if not e.serious),
            ls="none",
            marker="v",
            ms=5,
            color=OKABE_ITO["purple"],
        )
        serious = [e for e in events if e.serious]
        if serious:
            ax.plot(
                [_num(e.date) for e in serious],
                [h / 2 + 0.14] * len(serious),
                ls="none",
                marker="v",
                ms=7,
                color=OKABE_ITO["vermillion"],
                mec="black",
            )
            handles.append(
                Line2D(
                    [],
                    [],
                    ls="none",
                    marker="v",
                    color=OKABE_ITO["vermillion"],
                    mec="black",
                    label="Serious adverse event",
                )
            )
        handles.append(
            Line2D([], [], ls="none", marker="v", color=OKABE_ITO["purple"], label="Adverse event")
        )
    if through < s.end:
        ax.axvline(_num(through) + 0.5, color="black", ls="--", lw=0.8)
        ax.text(
            _num(through),
            1.42,
            f"data through {fmt.date(through)} ",
            fontsize=6.5,
            va="bottom",
            ha="right",
        )
    ax.set_yticks(list(rows.values()), list(rows.keys()))
    ax.set_ylim(-0.75, 1.7)
    _date_axis(ax, s.start, s.end)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.legend(
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=4, frameon=False
    )
    return fig


def series(record: TrialRecord, outcome: OutcomeResult, through: dt.date) -> Figure:
    """Daily values with periods shaded by arm, analytic washout hatched, period means as lines."""
    from matplotlib.lines import Line2D

    s = record.schedule
    fig = Figure(figsize=(WIDTH, 2.4))
    ax = fig.add_subplot()
    _shade_periods(ax, record)
    values = record.values(outcome.name)
    per28 = outcome.kind == BINARY
    means = {ps.period: ps.mean for ps in outcome.periods}
    handles: list[object] = list(_arm_legend(record))
    if per28:
        # A 0/1 diary reads best as event ticks plus each period's rate per 28 days.
        event_days = [d for d, v in values.items() if v >= 0.5 and d <= through]
        ax.plot(
            [_num(d) for d in event_days],
            [0.0] * len(event_days),
            ls="none",
            marker="|",
            ms=9,
            color="black",
            clip_on=False,
        )
        handles.append(
            Line2D(
                [], [], ls="none", marker="|", color="black", ms=8, label=f"{title(outcome)} (yes)"
            )
        )
        ylabel = f"{title(outcome)}\n({units(outcome)})"
    else:
        for arm in ("A", "B", None):
            xs, ys, washout_x, washout_y = [], [], [], []
            for d, v in sorted(values.items()):
                day = s.day(d)
                if day is None or d > through or day.arm != arm:
                    continue
                if day.analysed:
                    xs.append(_num(d))
                    ys.append(v)
                else:
                    washout_x.append(_num(d))
                    washout_y.append(v)
            colour = ARM_COLOUR.get(arm or "", GREY)
            marker = ARM_MARKER.get(arm or "", "o")
            ax.plot(xs, ys, ls="none", marker=marker, ms=3, color=colour)
            ax.plot(
                washout_x,
                washout_y,
                ls="none",
                marker=marker,
                ms=3,
                mfc="white",
                mec=colour,
                mew=0.7,
            )
        handles.append(
            Line2D(
                [],
                [],
                ls="none",
                marker="o",
                ms=3,
                color="black",
                label="Daily value (hollow: not analysed)",
            )
        )
        u = units(outcome)
        ylabel = f"{title(outcome)}" + (f"\n({u})" if u and outcome.kind != "count" else "")
        if outcome.kind == "count":
            ylabel = f"{title(outcome)}\n(per day)"
        if outcome.kind == "ordinal":
            from nof1.report.context import outcome_spec

            spec = outcome_spec(record.protocol, outcome.name)
            if spec is not None and spec.categories:
                ax.set_yticks(range(len(spec.categories)), spec.categories)
    scale = exposure_factor(outcome.kind) if per28 else 1.0
    for per in s.periods:
        mean = means.get(per.index)
        if mean is None or per.analysed_start > through:
            continue
        ax.hlines(
            mean * scale,
            _num(per.analysed_start) - 0.5,
            _num(min(per.end, through)) + 0.5,
            color=ARM_COLOUR[per.arm],
            lw=2.2,
        )
    handles.append(Line2D([], [], color="black", lw=2, label="Period mean (analysed days)"))
    if per28:
        ax.set_ylim(-1, EXPOSURE_DAYS + 0.5)
    if through < s.end:
        ax.axvline(_num(through) + 0.5, color="black", ls="--", lw=0.8)
    ax.set_ylabel(ylabel)
    _date_axis(ax, s.start, s.end)
    ax.legend(
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False
    )
    return fig


def _density(draws: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian kernel density with Silverman's bandwidth (numpy only)."""
    x = draws[np.isfinite(draws)]
    if x.size > 4000:
        x = np.quantile(x, np.linspace(0, 1, 4000))
    sd = np.std(x)
    iqr = np.subtract(*np.percentile(x, [75, 25]))
    bw = 0.9 * min(sd, iqr / 1.34 if iqr > 0 else sd) * x.size ** (-0.2)
    bw = bw if bw > 0 else max(abs(float(np.mean(x))) * 0.01, 1e-3)
    z = (grid[:, None] - x[None, :]) / bw
    density: np.ndarray = np.exp(-0.5 * z**2).sum(axis=1) / (x.size * bw * np.sqrt(2 * np.pi))
    return density


def posterior(record: TrialRecord, outcome: OutcomeResult) -> Figure:
    """Posterior density of the effect (B − A) with the MCID lines and the three regions."""
    arm_b, arm_a = arm_names(record.protocol)
    return posterior_figure(outcome, arm_b, arm_a, record.protocol.analysis.decision_threshold)


def posterior_figure(outcome: OutcomeResult, arm_b: str, arm_a: str, t: float) -> Figure:
    """:func:`posterior` given the arm names and the decision threshold (CSV reports too)."""
    draws = np.asarray(outcome.effect_draws, dtype=float).ravel()
    mcid = float(outcome.mcid)
    lo, hi = np.quantile(draws, [0.001, 0.999])
    span = max(hi - lo, 2.5 * mcid)
    left = min(lo - 0.1 * span, -1.4 * mcid)
    right = max(hi + 0.1 * span, 1.4 * mcid)
    grid = np.linspace(left, right, 512)
    dens = _density(draws, grid)
    fig = Figure(figsize=(WIDTH, 2.1))
    ax = fig.add_subplot()
    good_low = outcome.better == "lower"
    benefit_mask = grid <= -mcid if good_low else grid >= mcid
    harm_mask = grid >= mcid if good_low else grid <= -mcid
    neg_mask = np.abs(grid) < mcid
    p = outcome.probabilities
    for mask, colour, label in (
        (benefit_mask, BENEFIT, f"Meaningful benefit {fmt.percent(p.meaningful_benefit, t)}"),
        (neg_mask, NEGLIGIBLE, f"Negligible {fmt.percent(p.negligible, t)}"),
        (harm_mask, HARM, f"Meaningful harm {fmt.percent(p.meaningful_harm, t)}"),
    ):
        ax.fill_between(grid, 0, dens, where=mask, color=colour, alpha=0.55, lw=0, label=label)
    ax.plot(grid, dens, color="black", lw=1)
    for x in (-mcid, mcid):
        ax.axvline(x, color="black", ls="--", lw=0.8)
    ax.axvline(0, color=GREY, lw=0.8)
    top = float(dens.max()) * 1.12
    ax.set_ylim(0, top)
    ax.text(-mcid, top, "−MCID ", ha="right", va="top", fontsize=7)
    ax.text(mcid, top, " +MCID", ha="left", va="top", fontsize=7)
    worse, better = f"worse on {arm_b} →", f"← better on {arm_b}"
    if not good_low:
        worse, better = f"← worse on {arm_b}", f"better on {arm_b} →"
    ax.text(
        0,
        -0.3,
        better if good_low else worse,
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize=7.5,
        color=BENEFIT if good_low else HARM,
        fontweight="bold",
    )
    ax.text(
        1,
        -0.3,
        worse if good_low else better,
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=7.5,
        color=HARM if good_low else BENEFIT,
        fontweight="bold",
    )
    u = units(outcome)
    d = fmt.digits_for(outcome.kind, mcid)
    ax.set_xlabel(
        f"Effect of {arm_b} vs {arm_a}{', ' + u if u else ''} "
        f"(median {fmt.signed(outcome.effect.median, d)})"
    )
    ax.set_ylabel("Posterior density")
    ax.set_yticks([])
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig
