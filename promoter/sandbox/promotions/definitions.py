"""Promotion definitions: one per pair of environments, named "<source> to <target>".

A definition is busy while a run of its environment pair is running: it cannot be deleted, and
it cannot run again (one run per environment pair at a time).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from promoter.sandbox import fiql
from promoter.sandbox.errors import bad_request, conflict, not_found
from promoter.sandbox.estate import Estate
from promoter.sandbox.estate.rows import new_id
from promoter.sandbox.store import Row, Store
from promoter.talend import models as m

#: The store kinds of promotion definitions and of promotion runs.
DEFINITION = "promotion"
EXECUTION = "promotion_execution"


class Definitions:
    """Promotion definitions over an :class:`Estate`; ``clock`` tells whether a run is running."""

    estate: Estate
    store: Store
    clock: Callable[[], datetime]

    def list_definitions(self, query: str | None = None) -> list[m.PromotionDefinition]:
        """Every promotion definition matching a FIQL query (``name==dev to test``)."""
        predicate = fiql.parse(query)
        definitions = [self._definition_model(row) for row in self.store.find(DEFINITION)]
        return [d for d in definitions if predicate(d.to_wire())]

    def create_definition(
        self, body: m.PromotionCreateRequest, *, id: str | None = None
    ) -> m.PromotionDefinition:
        """Define the promotion from one environment to another, named "<source> to <target>".

        404 for an unknown environment, 400 when both are the same, 409 when the pair (or the id)
        already has a definition.
        """
        with self.store.transaction():
            source = self.estate.environment(body.source_environment_id)
            target = self.estate.environment(body.target_environment_id)
            if source["id"] == target["id"]:
                raise bad_request(
                    "A promotion needs two different environments",
                    f"Source and target are both '{source['name']}'.",
                )
            existing = self._definition_for_pair(source["id"], target["id"])
            if existing is not None:
                raise conflict(
                    f"A promotion from '{source['name']}' to '{target['name']}' already exists",
                    f"Use promotion {existing['executable']}; there is one per environment pair.",
                )
            promotion_id = id or new_id()
            if self.store.get(DEFINITION, promotion_id) is not None:
                raise conflict(f"Promotion '{promotion_id}' already exists")
            name = f"{source['name']} to {target['name']}"
            row = {"executable": promotion_id, "name": name, "_source": source["id"], "_target": target["id"]}
            self.store.put(
                DEFINITION, promotion_id, row,
                name=name, environment_id=source["id"], parent_id=target["id"],
            )
        return self._definition_model(row)

    def get_definition(self, promotion_id: str) -> m.PromotionDefinition:
        """One promotion definition; 404 when unknown."""
        return self._definition_model(self._definition(promotion_id))

    def delete_definition(self, promotion_id: str) -> None:
        """Delete a promotion definition (its past runs stay); 409 while one of its runs is running."""
        with self.store.transaction():
            definition = self._definition(promotion_id)
            self._check_idle(definition)
            self.store.delete(DEFINITION, promotion_id)

    def _definition(self, promotion_id: str) -> Row:
        row = self.store.get(DEFINITION, promotion_id)
        if row is None:
            raise not_found("Promotion", promotion_id)
        return row

    def _definition_for_pair(self, source_id: str, target_id: str) -> Row | None:
        for row in self.store.find(DEFINITION):
            if row["_source"] == source_id and row["_target"] == target_id:
                return row
        return None

    def _definition_model(self, row: Row) -> m.PromotionDefinition:
        source = self.store.get("environment", row["_source"])
        target = self.store.get("environment", row["_target"])
        return m.PromotionDefinition(
            executable=row["executable"],
            name=row["name"],
            source_environment=m.EnvironmentInfo.model_validate(source) if source else None,
            target_environment=m.EnvironmentInfo.model_validate(target) if target else None,
        )

    def _running(self, execution: Row) -> bool:
        return bool(self.clock() < datetime.fromisoformat(execution["_finishAt"]))

    def _check_idle(self, definition: Row) -> None:
        for execution in self.store.find(EXECUTION, environment_id=definition["_source"]):
            if execution["_target"] == definition["_target"] and self._running(execution):
                raise conflict(
                    f"Promotion '{definition['name']}' is already running",
                    f"Execution {execution['executionId']} has not finished; one run per "
                    "environment pair at a time. Poll it, then run again.",
                )
