"""The release dashboard (``promoter dashboard FILE… --out DIR | --serve``): what runs where,
what may move next, and why the last run ended as it did.

- :mod:`promoter.dashboard.data` — what the pages are made from: the ledger, ``promoter
  status`` of each pipeline (what each phase runs, drift, health, locks, what comes next);
- :mod:`promoter.dashboard.runs` — a run's report (``report.html``) made again from what the
  ledger kept of it;
- :mod:`promoter.dashboard.logs` — an execution's log, a page at a time, from the platform
  (``promoter_execution_log``);
- :mod:`promoter.dashboard.trends` — promotions per week, lead times, rollback rate, smoke
  executions across releases, as SVG drawn from numbers;
- :mod:`promoter.dashboard.site` — the pages (templates in ``templates/``, promoter's Jinja2
  sandbox, autoescaped), their paths, and the static site;
- :mod:`promoter.dashboard.server` — the same pages served live (read-only; a bearer token off
  loopback).

Every page works offline: styles inline, charts inline SVG, no script, no request to anywhere.
Only the ledger's documents (secret values redacted when they were stored; fingerprints shown as
``(secret)``) reach a page.
"""
