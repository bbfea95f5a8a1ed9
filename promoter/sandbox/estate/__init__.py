"""The Talend estate the sandbox serves: environments, workspaces, artifacts, tasks, plans,
schedules, connections and resources, with Talend's rules (unique names, cascades, conflicts).

Routes, the seed and the native promotion all go through :class:`Estate`, which keeps bodies in
the store in the wire format and renders them with :mod:`promoter.talend.models`. Its parts are
one module per kind of object, each building on the parts it needs:

- :mod:`~promoter.sandbox.estate.rows`: ids, dates and the served form of stored bodies;
- :mod:`~promoter.sandbox.estate.environments`: environments and workspaces, and the cascades;
- :mod:`~promoter.sandbox.estate.artifacts`: artifacts, their versions, publishing;
- :mod:`~promoter.sandbox.estate.tasks`: tasks and run-configs (on artifacts);
- :mod:`~promoter.sandbox.estate.plans`: plans;
- :mod:`~promoter.sandbox.estate.schedules`: schedules and task bindings (on tasks);
- :mod:`~promoter.sandbox.estate.connections`: connections and resources.
"""

from __future__ import annotations

from promoter.sandbox.estate.artifacts import Artifacts
from promoter.sandbox.estate.connections import Connections
from promoter.sandbox.estate.environments import Environments
from promoter.sandbox.estate.plans import Plans
from promoter.sandbox.estate.schedules import Schedules
from promoter.sandbox.estate.tasks import Tasks
from promoter.sandbox.store import Store

__all__ = ["Estate"]


class Estate(Schedules, Plans, Tasks, Artifacts, Connections, Environments):
    """Talend's orchestration objects and their rules, over a :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
