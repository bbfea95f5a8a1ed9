"""Pipeline files: the platform-neutral schema, secret references, and the loader.

- :mod:`promoter.pipeline.schema` — :class:`Pipeline`, the keys every promotion has;
- :mod:`promoter.pipeline.secrets` — ``${env:NAME}`` / ``${file:path}`` references;
- :mod:`promoter.pipeline.loader` — render (Jinja2), parse (YAML), validate; plugins' sections
  validated by their own models;
- :mod:`promoter.pipeline.document` — the YAML document within limits, and problems located in
  it (``file:line: key:``);
- :mod:`promoter.pipeline.templating` — the one Jinja2 environment for templates people write:
  sandboxed, within limits;
- :mod:`promoter.pipeline.plan_file` — reviewed plans saved by ``promoter plan --out``;
- :mod:`promoter.pipeline.reference` — generates ``docs/pipeline-reference.md``.
"""

from __future__ import annotations

from promoter.pipeline.document import yaml_limit_problem
from promoter.pipeline.loader import (
    LoadedPipeline,
    SectionSpec,
    collect_sections,
    load_pipeline,
    parse_variables,
)
from promoter.pipeline.schema import (
    CORE_SECTIONS,
    FreezeWindow,
    GatesConfig,
    Pipeline,
    ReportsConfig,
    SourceConfig,
    StrictModel,
    TargetConfig,
    Value,
)
from promoter.pipeline.secrets import SecretRef, Secrets

__all__ = [
    "CORE_SECTIONS",
    "FreezeWindow",
    "GatesConfig",
    "LoadedPipeline",
    "Pipeline",
    "ReportsConfig",
    "SecretRef",
    "Secrets",
    "SectionSpec",
    "SourceConfig",
    "StrictModel",
    "TargetConfig",
    "Value",
    "collect_sections",
    "load_pipeline",
    "parse_variables",
    "yaml_limit_problem",
]
