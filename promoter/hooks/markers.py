"""The pluggy markers of promoter's hooks; this module imports nothing of promoter.

``@hookimpl`` marks a plugin's implementation of a hook (``from promoter import hookimpl``);
``@hookspec`` marks a specification and is used in :mod:`promoter.hooks.specs` only.
"""

from __future__ import annotations

import pluggy

PROJECT_NAME = "promoter"
"""The pluggy project name; also the entry-point group plugins register under."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
"""Marks a hook specification (used only in :mod:`promoter.hooks.specs`)."""

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
"""Marks a hook implementation: ``@hookimpl`` (or ``@hookimpl(trylast=True)``, ``wrapper=True``)."""
