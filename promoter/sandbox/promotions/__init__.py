"""Talend's own promotion, as the sandbox serves it: definitions, analysis (dry run), runs.

This reproduces what Talend Cloud's native promotion does, gaps included, so that promoter can be
rehearsed against it and can show what it adds:

- workspaces and the objects in them are paired **by name** across environments; missing ones are
  created in the target (personal workspaces are never promoted);
- artifacts get their missing versions copied (same version strings, parameters, create dates and
  sandbox behaviour);
- a missing task is created with the source's parameters, connections mapped by name and the
  source's artifact version; an **existing** task keeps its parameter values, gains the new
  parameters, takes the source's tags and keeps running its old artifact version (Talend does not
  switch tasks: promoter closes that gap);
- a missing connection is created with the same name, app and parameters, secured values replaced
  by :data:`PLACEHOLDER`; an existing one is reused as it is;
- plans are created or replaced with steps pointing at the target's tasks;
- one run per environment pair at a time (409); a run is applied at once but reported as
  ``PROMOTION_STARTED`` until its simulated duration has passed.

A run is one store transaction: either everything it reports as done is written, or nothing is.

The phases, one module each: :mod:`~promoter.sandbox.promotions.definitions` (one definition per
environment pair), :mod:`~promoter.sandbox.promotions.analysis` (the dry run) and
:mod:`~promoter.sandbox.promotions.runs` (runs and their reports). Both the analysis and a run
take a :mod:`~promoter.sandbox.promotions.scope` (what is covered) and
:mod:`~promoter.sandbox.promotions.walk` over it, deciding for each object what happens in the
target (:mod:`~promoter.sandbox.promotions.workspace`) with the statuses of
:mod:`~promoter.sandbox.promotions.outcome`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from promoter.sandbox.estate import Estate
from promoter.sandbox.estate.rows import utcnow
from promoter.sandbox.promotions.analysis import Analysis
from promoter.sandbox.promotions.runs import Runs
from promoter.sandbox.promotions.scope import SCOPES
from promoter.sandbox.promotions.workspace import PLACEHOLDER

__all__ = ["PLACEHOLDER", "SCOPES", "NativePromotions"]


class NativePromotions(Analysis, Runs):
    """Talend's promotion definitions, analyses and runs over an :class:`Estate`.

    ``run_seconds`` is asked at each run how long it should be reported as running (0: it finishes
    at once and the run answers 201 with its report); ``clock`` is the time source (tests move it).
    """

    def __init__(
        self,
        estate: Estate,
        *,
        run_seconds: Callable[[], float],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.estate = estate
        self.store = estate.store
        self.run_seconds = run_seconds
        self.clock = clock
