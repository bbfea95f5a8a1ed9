"""Seed estates for the sandbox.

``demo``
    A realistic estate: environments dev, test and prod; shared workspaces Finance and Marketing
    in each; artifacts with version histories (dev is ahead of test, test ahead of prod); tasks
    with parameters, connections, run-configs and schedules; a plan; connections whose hosts
    differ per environment; promotion definitions dev→test and test→prod. The newest
    ``finance_ledger_sync`` fails its runs in prod: the demo's rollback scenario.
``large``
    ``tasks`` tasks (default 100) in dev's Finance workspace over artifacts shared by
    ``tasks_per_artifact`` tasks each, with the same workspaces, connections and an empty target,
    for benchmarks.

Ids are derived from names, so a seed gives the same ids every time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from promoter.sandbox.estate import Estate
from promoter.sandbox.estate.rows import stable_id
from promoter.talend import models as m

ENVIRONMENTS = ("dev", "test", "prod")
SEEDS = ("demo", "large", "empty")
_EPOCH = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def seed_estate(estate: Estate, seed: str | None, **options: Any) -> bool:
    """Create the named estate if the state is new; whether anything was created."""
    if seed is None or seed == "empty" or estate.store.get_meta("seed") is not None:
        return False
    if seed not in SEEDS:
        raise ValueError(f"unknown seed {seed!r}; choose one of {', '.join(SEEDS)}")
    with estate.store.transaction():
        if seed == "demo":
            _demo(estate)
        else:
            _large(estate, tasks=int(options.get("tasks", 100)), per_artifact=int(options.get("tasks_per_artifact", 5)))
        estate.store.set_meta("seed", seed)
    return True


def _version(base: str, day: int) -> tuple[str, datetime]:
    when = _EPOCH + timedelta(days=day)
    return f"{base}.{when:%Y%m%d%H%M%S}", when


def _environments(estate: Estate) -> dict[str, str]:
    ids = {}
    for name in ENVIRONMENTS:
        env = estate.create_environment(
            m.EnvironmentCreateRequest(
                name=name, workspace_name=f"{name}-custom", description=f"The {name} environment",
                max_cloud_containers=2,
            ),
            id=stable_id("environment", name),
        )
        ids[name] = env.id
    return ids


def _workspace(estate: Estate, env_id: str, env: str, name: str) -> str:
    return estate.create_workspace(
        m.WorkspaceCreateRequest(name=name, environment_id=env_id, description=f"{name} team", owner=f"{name.lower()}-lead"),
        id=stable_id("workspace", env, name),
    ).id


def _connection(estate: Estate, ws_id: str, name: str, app: str, parameters: list[tuple[str, str, bool]]) -> str:
    return estate.create_connection(
        m.ConnectionCreateRequest(
            name=name, workspace_id=ws_id, app=app,
            parameters=[m.ConnectionParameter(name=n, value=v, encrypted=e) for n, v, e in parameters],
        ),
        id=stable_id("connection", ws_id, name),
    ).id


def _run_config(estate: Estate, task_id: str, time: str = "02:00") -> None:
    estate.set_run_config(
        task_id,
        m.TaskRunConfig(
            trigger=m.Trigger(
                type="DAILY", interval=1, start_date="2026-01-01", time_zone="Europe/Paris",
                at_times=m.TimeSchedule(type="AT_TIME", time=time),
            ),
            runtime=m.Runtime(type="CLOUD"),
            parallel_execution_allowed=False,
            log_level="INFO",
        ),
    )


def _task(
    estate: Estate, env_id: str, ws_id: str, name: str, artifact_id: str, version: str,
    *, parameters: dict[str, str], connections: dict[str, str], tags: list[str], description: str,
) -> str:
    task_id = estate.create_task(
        m.TaskCreateRequest(
            workspace_id=ws_id, environment_id=env_id, name=name, description=description, tags=tags,
            parameters=parameters, connections=connections,
            artifact=m.ArtifactRequest(id=artifact_id, version=version),
            auto_upgrade_info=m.AutoUpgradeInfo(auto_upgradable=False, override_with_default_parameters=False),
        ),
        id=stable_id("task", ws_id, name),
    ).id
    _run_config(estate, task_id)
    return task_id


# Artifact histories: name -> [(version base, day, behaviour)], oldest first.
_FINANCE_HISTORY: dict[str, list[tuple[str, int, dict[str, Any]]]] = {
    "finance_daily_load": [("0.1.0", 0, {}), ("0.2.0", 20, {"rejectedRows": 2}), ("0.3.0", 60, {})],
    "finance_ledger_sync": [("1.0.0", 5, {}), ("1.1.0", 62, {"failInEnvironments": ["prod"], "log": ["Ledger schema v11 not found in target database"]})],
}
_MARKETING_HISTORY: dict[str, list[tuple[str, int, dict[str, Any]]]] = {
    "campaign_export": [("2.0.0", 10, {}), ("2.1.0", 50, {})],
    "leads_scoring": [("0.9.0", 12, {}), ("1.0.0", 55, {})],
}
# How many versions of each history each environment has: dev all, test fewer, prod fewer still.
_PRESENT = {"dev": 99, "test": -1, "prod": -2}


def _params(name: str, newest: bool) -> list[dict[str, Any]]:
    common = [
        {"name": "LOG_LEVEL", "value": "INFO", "type": "string", "required": False, "comment": "Job log level"},
        {"name": "BATCH_SIZE", "value": "500", "type": "int", "required": False},
    ]
    specific = {
        "finance_daily_load": [{"name": "DB_SCHEMA", "type": "string", "required": True, "comment": "Target schema"}],
        "finance_ledger_sync": [{"name": "LEDGER", "value": "GL", "type": "string", "required": True}],
        "campaign_export": [{"name": "EXPORT_FORMAT", "value": "csv", "type": "string", "required": False}],
        "leads_scoring": [{"name": "MODEL", "value": "v1", "type": "string", "required": True}],
    }[name]
    added = [{"name": "NOTIFY_EMAIL", "value": "data-team@example.com", "type": "string", "required": False}] if newest else []
    return common + specific + added


def _publish_history(estate: Estate, ws_id: str, env: str, history: dict[str, list[tuple[str, int, dict[str, Any]]]]) -> dict[str, tuple[str, str]]:
    """Publish each artifact's versions present in ``env``; name -> (artifact id, newest version)."""
    published = {}
    for name, versions in history.items():
        present = versions if _PRESENT[env] > 0 else versions[: _PRESENT[env]] or versions[:1]
        for i, (base, day, behaviour) in enumerate(present):
            version, when = _version(base, day)
            newest_of_all = i == len(versions) - 1
            artifact = estate.publish(
                workspace_id=ws_id, name=name, version=version, parameters=_params(name, newest_of_all),
                description=f"{name} {base}", behaviour=behaviour, create_date=when,
                publisher="release-bot@example.com",
                repository={"project": "DATA_PLATFORM", "branch": "main",
                            "commit": {"id": stable_id("commit", name, base)[:12], "author": "dev@example.com",
                                       "date": when.strftime("%Y-%m-%dT%H:%M:%SZ")}},
                id=stable_id("artifact", ws_id, name),
            )
            published[name] = (artifact.id, version)
    return published


def _demo(estate: Estate) -> None:
    envs = _environments(estate)
    for env, env_id in envs.items():
        finance = _workspace(estate, env_id, env, "Finance")
        marketing = _workspace(estate, env_id, env, "Marketing")
        warehouse = _connection(estate, finance, "finance_warehouse", "PostgreSQL", [
            ("host", f"finance-db.{env}.internal", False), ("port", "5432", False),
            ("database", "finance", False), ("username", "finance_etl", False),
            ("password", f"{env}-warehouse-password", True),
        ])
        bank = _connection(estate, finance, "bank_feed", "SFTP", [
            ("host", f"sftp.{env}.bank.example.com", False), ("username", "bankfeed", False),
            ("privateKey", f"{env}-bank-private-key", True),
        ])
        crm = _connection(estate, marketing, "crm", "Salesforce", [
            ("url", f"https://{env}.crm.example.com", False), ("username", "integration@example.com", False),
            ("securityToken", f"{env}-crm-token", True),
        ])
        lake = _connection(estate, marketing, "marketing_lake", "AmazonS3", [
            ("bucket", f"marketing-lake-{env}", False), ("region", "eu-west-1", False),
            ("secretAccessKey", f"{env}-lake-key", True),
        ])
        fin = _publish_history(estate, finance, env, _FINANCE_HISTORY)
        mkt = _publish_history(estate, marketing, env, _MARKETING_HISTORY)
        schema = {"dev": "finance_dev", "test": "finance_qa", "prod": "finance"}[env]
        daily = _task(estate, env_id, finance, "Finance daily load", *fin["finance_daily_load"],
                      parameters={"DB_SCHEMA": schema, "BATCH_SIZE": "500", "LOG_LEVEL": "INFO" if env != "prod" else "WARN"},
                      connections={"PostgreSQL": warehouse, "SFTP": bank}, tags=["finance", "nightly"],
                      description="Loads the day's bank feed into the warehouse")
        ledger = _task(estate, env_id, finance, "Finance ledger sync", *fin["finance_ledger_sync"],
                       parameters={"LEDGER": "GL", "LOG_LEVEL": "INFO"},
                       connections={"PostgreSQL": warehouse}, tags=["finance"],
                       description="Synchronises the general ledger")
        _task(estate, env_id, marketing, "Campaign export", *mkt["campaign_export"],
              parameters={"EXPORT_FORMAT": "csv"}, connections={"Salesforce": crm, "AmazonS3": lake},
              tags=["marketing"], description="Exports campaign results to the lake")
        _task(estate, env_id, marketing, "Leads scoring", *mkt["leads_scoring"],
              parameters={"MODEL": "v1"}, connections={"Salesforce": crm}, tags=["marketing", "ml"],
              description="Scores new leads")
        estate.create_plan(
            m.ExecutionPlanRequest(name="Finance nightly", workspace_id=finance, steps=[
                m.Step(name="Load", condition="ALL_SUCCEEDED", task_ids=[daily]),
                m.Step(name="Ledger", condition="ALL_SUCCEEDED", task_ids=[ledger]),
            ]),
            id=stable_id("plan", finance, "Finance nightly"),
        )
        nightly = estate.create_schedule(
            m.ScheduleCreateRequest(
                environment_id=env_id, description="Nightly at 02:00",
                trigger=m.ScheduleTrigger(name="nightly", type="DAILY", interval=1, start_date="2026-01-01",
                                          time_zone="Europe/Paris"),
            ),
            id=stable_id("schedule", env, "nightly"),
        )
        estate.bind_task_schedule(daily, nightly)
        estate.create_resource(workspace_id=finance, name="bank_codes.csv", id=stable_id("resource", finance, "bank_codes.csv"))
    _promotion_definitions(estate, envs)


def _promotion_definitions(estate: Estate, envs: dict[str, str]) -> None:
    from promoter.sandbox.promotions import NativePromotions

    promotions = NativePromotions(estate, run_seconds=lambda: 0.0)
    for source, target in (("dev", "test"), ("test", "prod")):
        promotions.create_definition(
            m.PromotionCreateRequest(source_environment_id=envs[source], target_environment_id=envs[target]),
            id=stable_id("promotion", source, target),
        )


def _large(estate: Estate, *, tasks: int, per_artifact: int) -> None:
    envs = _environments(estate)
    dev = envs["dev"]
    workspaces = {env: _workspace(estate, env_id, env, "Finance") for env, env_id in envs.items()}
    connections = {}
    for env, ws in workspaces.items():
        connections[env] = _connection(estate, ws, "finance_warehouse", "PostgreSQL", [
            ("host", f"finance-db.{env}.internal", False), ("port", "5432", False),
            ("password", f"{env}-warehouse-password", True),
        ])
    artifacts = max(1, -(-tasks // max(1, per_artifact)))
    published = []
    for a in range(artifacts):
        name = f"job_{a:04d}"
        for base, day in (("1.0.0", 1), ("1.1.0", 30)):
            version, when = _version(base, day)
            artifact = estate.publish(
                workspace_id=workspaces["dev"], name=name, version=version, create_date=when,
                parameters=[{"name": "DB_SCHEMA", "type": "string", "required": True},
                            {"name": "BATCH_SIZE", "value": "500", "type": "int", "required": False}],
                id=stable_id("artifact", workspaces["dev"], name),
            )
        published.append((artifact.id, version))
    for t in range(tasks):
        artifact_id, version = published[t // max(1, per_artifact)]
        _task(estate, dev, workspaces["dev"], f"task_{t:05d}", artifact_id, version,
              parameters={"DB_SCHEMA": "finance_dev", "BATCH_SIZE": "500"},
              connections={"PostgreSQL": connections["dev"]}, tags=["bench"], description=f"Benchmark task {t}")
    _promotion_definitions(estate, envs)
