"""The design planner's figure: assurance and false-benefit rate against trial length.

It lives in ``report`` because ``report`` is the only module that draws.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from matplotlib.figure import Figure

from nof1 import files
from nof1.plan import PlanResult
from nof1.report.figure import OKABE_ITO
from nof1.workspace import own_files


def plot_plan(result: PlanResult, path: str | os.PathLike[str]) -> None:
    """Assurance and false-benefit rate against trial length, as a PNG (matplotlib, Agg).

    The recommended design is ringed; the protocol's design is labelled. The file is replaced
    when it exists (as before), owner-only and atomically, but never a trial's protocol.toml or
    store, nor through a symbolic link (:func:`nof1.files.write_private`).
    """
    fig = Figure(figsize=(7.5, 4.5), dpi=120)
    ax = fig.subplots()
    days = [r.total_days for r in result.results]
    ax.scatter(
        days,
        [r.assurance for r in result.results],
        color=OKABE_ITO["blue"],
        zorder=3,
        label="P(verdict: meaningful benefit) if the assumed effect is true",
    )
    ax.scatter(
        days,
        [r.false_benefit for r in result.results],
        color=OKABE_ITO["vermillion"],
        marker="x",
        zorder=3,
        label="P(verdict: meaningful benefit) if there is no effect",
    )
    for r in result.results:
        text = f"{r.design.blocks}×{r.design.period_days}d"
        if r.is_protocol:
            text += " (protocol)"
        ax.annotate(
            text, (r.total_days, r.assurance), textcoords="offset points", xytext=(4, 4), fontsize=7
        )
    best = result.recommended
    if best is not None:
        ax.scatter(
            [best.total_days],
            [best.assurance],
            s=220,
            facecolors="none",
            edgecolors=OKABE_ITO["green"],
            linewidths=2,
            zorder=4,
            label=f"smallest design reaching {result.target:.0%}",
        )
    ax.axhline(result.target, color="grey", linestyle="--", linewidth=1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("trial length (days)")
    ax.set_ylabel("probability")
    ax.set_title(
        f"Design planner: {result.outcome} (effect {result.assumptions.effect:g}, "
        f"MCID {result.mcid:g})",
        fontsize=10,
    )
    ax.legend(fontsize=7, loc="center right")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    files.write_private(
        Path(path), buffer.getvalue(), force=True, protected=own_files(Path(path).absolute().parent)
    )
