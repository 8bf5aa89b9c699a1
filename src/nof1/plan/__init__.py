"""The design planner: can this design answer the question, before months are spent on it?

=================  ========================================================================
:mod:`.planner`    assumptions, candidate designs, simulation, ``[planning]`` in the protocol
:mod:`.approx`     fast approximate posteriors of the analysis models (no MCMC)
=================  ========================================================================

This ``__init__`` stays light (no numpy until a planner function is used): the names below are
imported from :mod:`.planner` on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nof1.plan.planner import (
        Assumptions,
        DesignOption,
        DesignResult,
        PlanResult,
        alternative_designs,
        check_levels,
        check_run,
        default_assumptions,
        design_of,
        plan,
        planning_table,
        simulate_design,
        write_planning,
    )

__all__ = [
    "Assumptions",
    "DesignOption",
    "DesignResult",
    "PlanResult",
    "alternative_designs",
    "check_levels",
    "check_run",
    "default_assumptions",
    "design_of",
    "plan",
    "planning_table",
    "simulate_design",
    "write_planning",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from nof1.plan import planner

        value = getattr(planner, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nof1.plan' has no attribute {name!r}")
