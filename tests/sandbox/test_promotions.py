"""Talend's native promotion in the sandbox: definitions, analysis, runs and their reports."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30ReadValidator
from referencing import Registry, Resource

from promoter.sandbox.errors import ApiError
from promoter.sandbox.estate import Estate
from promoter.sandbox.promotions import PLACEHOLDER, NativePromotions
from promoter.sandbox.store import Store
from promoter.talend import models as m

REPO = Path(__file__).resolve().parents[2]
SPEC_URI = "urn:talend:processing"


# ---------------------------------------------------------------------- the spec


@cache
def _report_validator() -> OAS30ReadValidator:
    spec_dir = Path(os.environ.get("PROMOTER_OPENAPI_DIR") or REPO.parent / "shared/reference/openapi")
    path = spec_dir / "processing-openapi.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; set PROMOTER_OPENAPI_DIR to Talend's specs")
    spec = json.loads(path.read_text())
    registry = Registry().with_resource(SPEC_URI, Resource.opaque(spec))
    schema = {"$ref": f"{SPEC_URI}#/components/schemas/PromotionExecutionStatusV26"}
    return OAS30ReadValidator(schema, registry=registry)


def assert_valid(report: m.PromotionReport) -> None:
    """The report, as served, matches the spec's PromotionExecutionStatusV26."""
    errors = list(_report_validator().iter_errors(report.to_wire()))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


# ---------------------------------------------------------------------- the estate


class Clock:
    """A time source the tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class World:
    """dev and test, each with a shared Finance workspace; dev holds the releases."""

    def __init__(self, run_seconds: float = 0) -> None:
        self.store = Store()
        self.estate = Estate(self.store)
        self.clock = Clock()
        self.seconds = run_seconds
        self.promotions = NativePromotions(self.estate, run_seconds=lambda: self.seconds, clock=self.clock)
        e = self.estate
        self.dev = e.create_environment(m.EnvironmentCreateRequest(name="dev", workspace_name="dev-custom")).id
        self.test = e.create_environment(m.EnvironmentCreateRequest(name="test", workspace_name="test-custom")).id
        self.finance = self.workspace(self.dev, "Finance")
        self.test_finance = self.workspace(self.test, "Finance")
        self.personal = e.create_workspace(
            m.WorkspaceCreateRequest(name="alice", environment_id=self.dev), type="personal"
        ).id
        self.warehouse = e.create_connection(
            m.ConnectionCreateRequest(
                name="warehouse", workspace_id=self.finance, app="PostgreSQL",
                parameters=[
                    m.ConnectionParameter(name="host", value="db.dev.local"),
                    m.ConnectionParameter(name="password", value="s3cret", encrypted=True),
                ],
            )
        ).id
        self.rates = e.create_resource(workspace_id=self.finance, name="rates.csv").id
        self.artifact = self.publish("load_ledger", "0.1.0.20260101000000", day=1).id
        self.publish("load_ledger", "0.2.0.20260201000000", day=2, extra_parameter="region")
        self.load = self.task("Load ledger", "0.2.0.20260201000000", {"batch": "100", "region": "eu"})
        self.report = self.task("Report ledger", "0.1.0.20260101000000", {"batch": "10"}, resources=True)
        self.plan = e.create_plan(
            m.ExecutionPlanRequest(
                name="Nightly", workspace_id=self.finance,
                steps=[
                    m.Step(name="load", condition="ALL_SUCCEEDED", task_ids=[self.load]),
                    m.Step(name="report", condition="ALL_SUCCEEDED", task_ids=[self.report]),
                ],
            )
        ).id
        self.definition = self.promotions.create_definition(
            m.PromotionCreateRequest(source_environment_id=self.dev, target_environment_id=self.test)
        ).executable

    def workspace(self, env: str, name: str) -> str:
        return self.estate.create_workspace(m.WorkspaceCreateRequest(name=name, environment_id=env)).id

    def publish(
        self, name: str, version: str, *, day: int, extra_parameter: str | None = None,
        workspace: str | None = None, type: str = "standard",
    ) -> m.ArtifactVersion:
        parameters = [{"name": "batch", "type": "int", "required": True, "value": "1"}]
        if extra_parameter:
            parameters.append({"name": extra_parameter, "type": "string", "required": False})
        return self.estate.publish(
            workspace_id=workspace or self.finance, name=name, version=version, type=type,
            parameters=parameters, behaviour={"rows": 1000 * day},
            create_date=datetime(2026, 1, day, tzinfo=UTC),
        )

    def task(
        self, name: str, version: str, parameters: dict[str, Any], *, resources: bool = False
    ) -> str:
        task = self.estate.create_task(
            m.TaskCreateRequest(
                workspace_id=self.finance, environment_id=self.dev, name=name,
                artifact=m.ArtifactRequest(id=self.artifact, version=version),
                parameters=parameters, tags=["finance"],
                connections={"PostgreSQL": self.warehouse},
                resources={"rates": self.rates} if resources else None,
            )
        )
        return task.id

    # -------------------------------------------------------------- reading the target

    def target(self, kind: str, name: str, workspace: str | None = None) -> dict[str, Any]:
        rows = self.store.find(kind, name=name, workspace_id=workspace or self.test_finance)
        assert rows, f"no {kind} {name!r} in the target"
        return rows[0]

    def target_names(self, kind: str, workspace: str | None = None) -> list[str]:
        return [r["name"] for r in self.store.find(kind, workspace_id=workspace or self.test_finance)]

    def run(self, advanced: tuple[str, str] | None = None, **kwargs: Any) -> tuple[int, m.PromotionExecution]:
        spec = m.AdvancedPromotionSpec(artifact_type=advanced[0], artifact_id=advanced[1]) if advanced else None
        return self.promotions.run(
            m.PromotionRunRequest(executable=self.definition, advanced=spec, **kwargs)
        )

    def promote(self, advanced: tuple[str, str] | None = None, **kwargs: Any) -> m.PromotionReport:
        code, execution = self.run(advanced, **kwargs)
        assert code == 201
        assert execution.execution_report is not None
        assert_valid(execution.execution_report)
        return execution.execution_report

    def snapshot(self) -> list[tuple[Any, ...]]:
        return list(self.store._db.execute("SELECT * FROM objects ORDER BY kind, id"))


def finance(report: m.PromotionReport) -> m.WorkspacePromotionResult:
    [result] = [w for w in report.workspaces or [] if w.name == "Finance"]
    return result


def statuses(results: list[Any] | None, *, analysis: bool = False) -> dict[str, str | None]:
    return {
        r.name: (r.analyze_report if analysis else r.promotion_report).status for r in results or []
    }


@pytest.fixture
def world() -> World:
    return World()


# ---------------------------------------------------------------------- definitions


def test_definitions_are_one_per_pair(world: World) -> None:
    promotions = world.promotions
    definition = promotions.get_definition(world.definition)
    assert definition.name == "dev to test"
    assert definition.source_environment is not None and definition.source_environment.name == "dev"
    with pytest.raises(ApiError) as duplicate:
        promotions.create_definition(
            m.PromotionCreateRequest(source_environment_id=world.dev, target_environment_id=world.test)
        )
    assert duplicate.value.status == 409
    with pytest.raises(ApiError) as same:
        promotions.create_definition(
            m.PromotionCreateRequest(source_environment_id=world.dev, target_environment_id=world.dev)
        )
    assert same.value.status == 400
    with pytest.raises(ApiError) as unknown:
        promotions.create_definition(
            m.PromotionCreateRequest(source_environment_id=world.dev, target_environment_id="nope")
        )
    assert unknown.value.status == 404

    back = promotions.create_definition(
        m.PromotionCreateRequest(source_environment_id=world.test, target_environment_id=world.dev)
    )
    assert back.name == "test to dev"
    assert [d.executable for d in promotions.list_definitions("name==dev to test")] == [world.definition]
    assert len(promotions.list_definitions(None)) == 2
    assert [d.name for d in promotions.list_definitions("sourceEnvironment.name==test")] == ["test to dev"]

    promotions.delete_definition(back.executable)
    for call in (promotions.get_definition, promotions.delete_definition):
        with pytest.raises(ApiError) as gone:
            call(back.executable)
        assert gone.value.status == 404
    # The estate deletes an environment's promotions with it.
    world.estate.delete_environment(world.test)
    assert promotions.list_definitions(None) == []


# ---------------------------------------------------------------------- full promotion


def test_full_promotion_creates_everything_in_an_empty_target(world: World) -> None:
    report = world.promote()
    assert report.status == "PROMOTED"
    assert report.promotion_id == world.definition
    ws = finance(report)
    assert (ws.id, ws.target_id, ws.workspace_type) == (world.finance, world.test_finance, "Shared")
    assert ws.promotion_report is not None and ws.promotion_report.status == "REUSED"
    assert statuses(ws.flows) == {"Load ledger": "CREATED", "Report ledger": "CREATED"}
    assert statuses(ws.actions) == {"load_ledger": "CREATED"}
    assert statuses(ws.connections) == {"warehouse": "CREATED"}
    assert statuses(ws.resources) == {"rates.csv": "CREATED"}
    assert statuses(ws.plans) == {"Nightly": "CREATED"}

    # Workspaces paired by name: the custom one is created, the personal one never promoted.
    names = {w.name: w.promotion_report.status for w in report.workspaces or [] if w.promotion_report}
    assert names == {"dev-custom": "CREATED", "Finance": "REUSED"}
    assert world.store.find("workspace", name="dev-custom", environment_id=world.test)[0]["type"] == "custom"
    assert not world.store.find("workspace", name="alice", environment_id=world.test)

    # Artifact versions: same strings, newest first, same dates and behaviour.
    artifact = world.target("artifact", "load_ledger")
    assert world.estate.artifact_model(artifact["id"]).versions == [
        "0.2.0.20260201000000", "0.1.0.20260101000000",
    ]
    copied = world.estate.artifact_version(artifact["id"], "0.2.0.20260201000000")
    assert copied["_behaviour"] == {"rows": 2000}
    assert copied["createDate"].startswith("2026-01-02")
    assert [p["name"] for p in copied["parameters"]] == ["batch", "region"]

    # Tasks: the source's parameters, version and tags; connections and resources mapped by name.
    connection = world.target("connection", "warehouse")
    load = world.target("task", "Load ledger")
    assert load["parameters"] == {"batch": "100", "region": "eu"}
    assert load["artifact"] == {"id": artifact["id"], "name": "load_ledger", "version": "0.2.0.20260201000000"}
    assert load["tags"] == ["finance"]
    assert load["connections"] == {"PostgreSQL": connection["id"]}
    report_task = world.target("task", "Report ledger")
    assert report_task["resources"] == {"rates": world.target("resource", "rates.csv")["id"]}

    # Plan steps point at the target's tasks.
    plan = world.target("plan", "Nightly")
    assert [s["taskIds"] for s in plan["steps"]] == [[load["id"]], [report_task["id"]]]

    # Report ids: source id and target id.
    flows = {f.name: f for f in ws.flows or []}
    assert (flows["Load ledger"].id, flows["Load ledger"].target_id) == (world.load, load["id"])
    assert flows["Load ledger"].version == 1 and flows["Load ledger"].target_version == "1"
    [plan_result] = ws.plans or []
    assert (plan_result.id, plan_result.target_id) == (world.plan, plan["id"])

    # The run is kept and can be read back.
    again = world.promotions.status(report.execution_id)
    assert again.status == "PROMOTED" and again.finish_timestamp is not None
    assert_valid(again)


def test_secured_connection_values_become_a_placeholder(world: World) -> None:
    report = world.promote()
    parameters = {p["name"]: p for p in world.target("connection", "warehouse")["parameters"]}
    assert parameters["host"]["value"] == "db.dev.local"
    assert parameters["password"] == {"name": "password", "value": PLACEHOLDER, "encrypted": True}
    [result] = finance(report).connections or []
    assert result.promotion_report is not None
    [message] = result.promotion_report.messages or []
    assert message.level == "WARN" and "password" in (message.info or "")
    assert "s3cret" not in json.dumps(report.to_wire())


def test_repromotion_keeps_target_values_and_does_not_switch_the_task(world: World) -> None:
    world.promote()
    estate = world.estate
    # The target is configured for its environment...
    target_load = world.target("task", "Load ledger")
    estate.replace_task(
        target_load["id"],
        m.TaskUpdateRequest.from_task(estate.task_model(target_load["id"])).model_copy(
            update={"parameters": {"batch": "5000", "region": "us"}}
        ),
    )
    target_connection = world.target("connection", "warehouse")
    estate.update_connection(
        target_connection["id"],
        m.ConnectionUpdateRequest(parameters=[m.ConnectionParameter(name="host", value="db.test.local")]),
    )
    # ...and dev moves on: a new version with a new parameter, new tags.
    world.publish("load_ledger", "0.3.0.20260301000000", day=3, extra_parameter="mode")
    source_load = m.TaskUpdateRequest.from_task(estate.task_model(world.load))
    estate.replace_task(
        world.load,
        source_load.model_copy(update={
            "artifact": m.ArtifactRequest(id=world.artifact, version="0.3.0.20260301000000"),
            "parameters": {"batch": "100", "region": "eu", "mode": "full"},
            "tags": ["finance", "ledger"],
        }),
    )

    report = world.promote()
    assert report.status == "PROMOTED"
    ws = finance(report)
    assert statuses(ws.flows) == {"Load ledger": "REPLACED", "Report ledger": "REUSED"}
    assert statuses(ws.actions) == {"load_ledger": "REPLACED"}
    assert statuses(ws.connections) == {"warehouse": "REUSED"}
    assert statuses(ws.plans) == {"Nightly": "REUSED"}  # same steps

    load = world.target("task", "Load ledger")
    assert load["parameters"] == {"batch": "5000", "region": "us", "mode": "full"}
    assert load["tags"] == ["finance", "ledger"]
    assert load["artifact"]["version"] == "0.2.0.20260201000000"  # not switched: promoter's job
    assert load["id"] == target_load["id"]
    flow = next(f for f in ws.flows or [] if f.name == "Load ledger")
    assert flow.promotion_report is not None
    assert any(
        msg.level == "WARN" and "0.3.0.20260301000000" in (msg.info or "")
        for msg in flow.promotion_report.messages or []
    )
    artifact = world.target("artifact", "load_ledger")
    assert world.estate.artifact_model(artifact["id"]).versions[0] == "0.3.0.20260301000000"
    connection = world.target("connection", "warehouse")
    assert connection["parameters"] == [{"name": "host", "value": "db.test.local"}]
    assert len(world.store.find("connection", workspace_id=world.test_finance)) == 1


def test_target_resources_are_kept_on_request(world: World) -> None:
    world.promote()
    kept = world.promote(keep_target_resources=True)
    assert kept.keep_target_resources is True
    assert statuses(finance(kept).resources) == {"rates.csv": "REUSED"}
    assert statuses(finance(world.promote()).resources) == {"rates.csv": "REPLACED"}
    assert world.target_names("resource") == ["rates.csv"]


def test_a_changed_plan_is_replaced(world: World) -> None:
    world.promote()
    world.estate.replace_plan(
        world.plan,
        m.ExecutionPlanRequest(
            name="Nightly", workspace_id=world.finance,
            steps=[m.Step(name="all", condition="ALWAYS_PROCEED_ON", task_ids=[world.report, world.load])],
        ),
    )
    report = world.promote()
    assert statuses(finance(report).plans) == {"Nightly": "REPLACED"}
    targets = [world.target("task", name)["id"] for name in ("Report ledger", "Load ledger")]
    [step] = world.target("plan", "Nightly")["steps"]
    assert (step["name"], step["condition"], step["taskIds"]) == ("all", "ALWAYS_PROCEED_ON", targets)


def test_copied_versions_keep_create_date_order(world: World) -> None:
    world.promote(("FLOW", world.load))  # only 0.2.0 reaches the target
    artifact = world.target("artifact", "load_ledger")
    assert world.estate.artifact_model(artifact["id"]).versions == ["0.2.0.20260201000000"]
    world.promote()
    assert world.estate.artifact_model(artifact["id"]).versions == [
        "0.2.0.20260201000000", "0.1.0.20260101000000",
    ]


# ---------------------------------------------------------------------- scopes


def test_action_scope_copies_the_artifact_and_leaves_tasks_alone(world: World) -> None:
    world.promote()
    before = world.target("task", "Load ledger")
    world.publish("load_ledger", "0.3.0.20260301000000", day=3, extra_parameter="mode")
    estate = world.estate
    estate.replace_task(
        world.load,
        m.TaskUpdateRequest.from_task(estate.task_model(world.load)).model_copy(update={
            "artifact": m.ArtifactRequest(id=world.artifact, version="0.3.0.20260301000000"),
            "parameters": {"batch": "1", "mode": "full"},
        }),
    )

    report = world.promote(("ACTION", world.artifact))
    assert report.status == "PROMOTED"
    assert report.advanced == m.AdvancedPromotionSpec(artifact_id=world.artifact, artifact_type="ACTION")
    [ws] = report.workspaces or []
    assert ws.flows == [] and ws.plans == [] and ws.connections == []
    [action] = ws.actions or []
    assert action.promotion_report is not None and action.promotion_report.status == "REPLACED"
    assert {v.version: v.promotion_report.status for v in action.versions or [] if v.promotion_report} == {
        "0.3.0.20260301000000": "CREATED",
        "0.2.0.20260201000000": "REUSED",
        "0.1.0.20260101000000": "REUSED",
    }
    assert world.target("task", "Load ledger") == before


def test_action_scope_into_an_empty_target_creates_no_task(world: World) -> None:
    report = world.promote(("ACTION", world.artifact))
    assert statuses(finance(report).actions) == {"load_ledger": "CREATED"}
    assert world.target_names("artifact") == ["load_ledger"]
    for kind in ("task", "plan", "connection", "resource"):
        assert world.target_names(kind) == []
    assert not world.store.find("workspace", name="dev-custom", environment_id=world.test)


def test_flow_scope_promotes_one_task_with_what_it_needs(world: World) -> None:
    report = world.promote(("FLOW", world.load))
    [ws] = report.workspaces or []
    assert statuses(ws.flows) == {"Load ledger": "CREATED"}
    assert statuses(ws.connections) == {"warehouse": "CREATED"}
    assert ws.plans == [] and ws.resources == []
    assert world.target_names("task") == ["Load ledger"]
    assert world.target_names("plan") == []
    assert world.target_names("resource") == []
    artifact = world.target("artifact", "load_ledger")
    assert world.estate.artifact_model(artifact["id"]).versions == ["0.2.0.20260201000000"]


def test_plan_scope_promotes_the_plan_and_its_tasks(world: World) -> None:
    report = world.promote(("PLAN", world.plan))
    [ws] = report.workspaces or []
    assert statuses(ws.plans) == {"Nightly": "CREATED"}
    assert set(world.target_names("task")) == {"Load ledger", "Report ledger"}
    assert world.target_names("resource") == ["rates.csv"]
    artifact = world.target("artifact", "load_ledger")
    assert len(world.estate.artifact_model(artifact["id"]).versions) == 2


def test_workspace_scope_can_create_the_workspace(world: World) -> None:
    marketing = world.workspace(world.dev, "Marketing")
    world.publish("campaigns", "1.0.0.20260101000000", day=1, workspace=marketing)
    report = world.promote(("WORKSPACE", marketing))
    [ws] = report.workspaces or []
    assert ws.promotion_report is not None and ws.promotion_report.status == "CREATED"
    created = world.store.find("workspace", name="Marketing", environment_id=world.test)
    assert ws.target_id == created[0]["id"]
    assert world.target_names("artifact", created[0]["id"]) == ["campaigns"]
    assert world.target_names("artifact") == []  # Finance untouched


@pytest.mark.parametrize(
    ("advanced", "status"),
    [
        (("FLOW", "unknown-task"), 404),
        (("ACTION", "unknown-artifact"), 404),
        (("WORKSPACE", "unknown-workspace"), 404),
        (("CONNECTION", "x"), 400),
        (("", "x"), 400),
    ],
)
def test_bad_advanced_scopes_are_refused(world: World, advanced: tuple[str, str], status: int) -> None:
    with pytest.raises(ApiError) as refused:
        world.run(advanced)
    assert refused.value.status == status
    assert world.target_names("task") == []


def test_scopes_outside_the_source_are_refused(world: World) -> None:
    for advanced in (("WORKSPACE", world.test_finance), ("WORKSPACE", world.personal)):
        with pytest.raises(ApiError) as refused:
            world.run(advanced)
        assert refused.value.status == 400
    with pytest.raises(ApiError) as unknown:
        world.promotions.run(m.PromotionRunRequest(executable="no-such-promotion"))
    assert unknown.value.status == 404
    with pytest.raises(ApiError) as no_run:
        world.promotions.status("no-such-execution")
    assert no_run.value.status == 404


# ---------------------------------------------------------------------- analysis


def test_analysis_writes_nothing_and_says_what_a_run_would_do(world: World) -> None:
    before = world.snapshot()
    report = world.promotions.analyse(world.definition, m.PromotionAnalysisRequest())
    assert world.snapshot() == before
    assert report.status == "ANALIZED"
    assert_valid(report)
    ws = finance(report)
    assert ws.promotion_report is None
    assert statuses(ws.flows, analysis=True) == {"Load ledger": "CREATED", "Report ledger": "CREATED"}
    assert statuses(ws.connections, analysis=True) == {"warehouse": "CREATED"}
    assert statuses(ws.plans, analysis=True) == {"Nightly": "CREATED"}
    custom = next(w for w in report.workspaces or [] if w.name == "dev-custom")
    assert custom.target_id is None  # would be created
    with pytest.raises(ApiError):
        world.promotions.status(report.execution_id)

    # The run does what the analysis said.
    run = world.promote()
    assert statuses(finance(run).flows) == statuses(ws.flows, analysis=True)

    # Narrowed by name, after the run: everything exists.
    narrowed = world.promotions.analyse(
        world.definition,
        m.PromotionAnalysisRequest(
            promotion_advanced_info=m.PromotionAdvancedInfo(
                name="Load ledger", workspace_id=world.finance, type="FLOW"
            )
        ),
    )
    assert_valid(narrowed)
    [ws] = narrowed.workspaces or []
    assert statuses(ws.flows, analysis=True) == {"Load ledger": "REUSED"}
    assert statuses(ws.connections, analysis=True) == {"warehouse": "REUSED"}


# ---------------------------------------------------------------------- failures


def test_a_conflicting_artifact_fails_and_its_users_are_skipped(world: World) -> None:
    world.publish("load_ledger", "9.9.9.20260101000000", day=1, workspace=world.test_finance, type="route")
    report = world.promote()
    assert report.status == "PROMOTION_WARNING"
    ws = finance(report)
    assert statuses(ws.actions) == {"load_ledger": "FAILED"}
    assert statuses(ws.flows) == {"Load ledger": "SKIPPED", "Report ledger": "SKIPPED"}
    assert statuses(ws.plans) == {"Nightly": "SKIPPED"}
    assert statuses(ws.connections) == {"warehouse": "CREATED"}
    assert world.target_names("task") == []
    assert world.target_names("connection") == ["warehouse"]


def test_a_run_where_nothing_can_be_promoted_fails(world: World) -> None:
    world.publish("load_ledger", "9.9.9.20260101000000", day=1, workspace=world.test_finance, type="route")
    report = world.promote(("ACTION", world.artifact))
    assert report.status == "PROMOTION_FAILED"


def test_an_error_while_applying_leaves_nothing_half_done(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    before = world.snapshot()

    def refuse(*_args: Any, **_kwargs: Any) -> m.ExecutionPlan:
        raise ApiError(409, "Plan storage is full")

    monkeypatch.setattr(world.estate, "create_plan", refuse)
    report = world.promote()
    assert report.status == "PROMOTION_FAILED"
    assert "Plan storage is full" in (report.status_message or "")
    # Only the failed run's record was written.
    after = world.snapshot()
    assert [r for r in after if r[0] != "promotion_execution"] == before
    assert len(after) == len(before) + 1
    assert world.promotions.status(report.execution_id).status == "PROMOTION_FAILED"


# ---------------------------------------------------------------------- timing


def test_one_run_per_pair_at_a_time_and_status_follows_the_clock() -> None:
    world = World(run_seconds=30)
    code, execution = world.run()
    assert code == 202 and execution.execution_report is None
    assert execution.execution_id is not None
    # Applied at once, reported as started.
    assert set(world.target_names("task")) == {"Load ledger", "Report ledger"}
    running = world.promotions.status(execution.execution_id)
    assert running.status == "PROMOTION_STARTED"
    assert running.finish_timestamp is None
    assert finance(running).promotion_report is None
    assert_valid(running)

    with pytest.raises(ApiError) as busy:
        world.run()
    assert busy.value.status == 409
    with pytest.raises(ApiError) as undeletable:
        world.promotions.delete_definition(world.definition)
    assert undeletable.value.status == 409
    # Another pair is free to run.
    other = world.promotions.create_definition(
        m.PromotionCreateRequest(source_environment_id=world.test, target_environment_id=world.dev)
    )
    assert world.promotions.run(m.PromotionRunRequest(executable=other.executable))[0] == 202

    world.clock.advance(31)
    done = world.promotions.status(execution.execution_id)
    assert done.status == "PROMOTED"
    assert done.finish_timestamp == world.clock.now - timedelta(seconds=1)
    assert_valid(done)
    assert world.run()[0] == 202
