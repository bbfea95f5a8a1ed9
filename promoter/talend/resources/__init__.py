"""The typed resource groups of :class:`~promoter.talend.client.TalendClient`, one module per
resource (as the Anthropic SDK's ``resources/``).

One class per kind of Talend Cloud object, each method one API call (or a documented handful),
returning the models of :mod:`promoter.talend.models`. Paged lists return a
:class:`~promoter.talend.paging.Paginator`; the three lists Talend returns as a bare array
(environments, workspaces, promotion definitions) return a ``list``.

Creates, execution starts and promotion runs are not idempotent. Each create carries a look-up
(the object by name in its workspace or environment; an execution by its task and start time)
that the transport runs after an ambiguous failure before deciding to send the call again — so
nothing is created or run twice. Names are what identifies an object for these look-ups, as they
do for Talend's own promotions; an object found by name counts as the create's outcome only if it
holds what the create sent (otherwise the name was already taken, the create is sent again and
the server answers 409 as it would have without the failure).
"""

from __future__ import annotations

from promoter.talend.resources.artifacts import ArtifactsAPI
from promoter.talend.resources.base import BUSY_PAIR_MAX_PAUSE, START_TIME_TOLERANCE, fiql
from promoter.talend.resources.connections import ConnectionsAPI
from promoter.talend.resources.environments import EnvironmentsAPI, WorkspacesAPI
from promoter.talend.resources.executions import ExecutionsAPI, LogsAPI
from promoter.talend.resources.plans import PlansAPI
from promoter.talend.resources.promotions import PromotionsAPI
from promoter.talend.resources.schedules import SchedulesAPI
from promoter.talend.resources.tasks import TasksAPI

__all__ = [
    "BUSY_PAIR_MAX_PAUSE",
    "START_TIME_TOLERANCE",
    "ArtifactsAPI",
    "ConnectionsAPI",
    "EnvironmentsAPI",
    "ExecutionsAPI",
    "LogsAPI",
    "PlansAPI",
    "PromotionsAPI",
    "SchedulesAPI",
    "TasksAPI",
    "WorkspacesAPI",
    "fiql",
]
