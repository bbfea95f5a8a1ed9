"""promoter's own plugins, registered exactly like third-party ones (datasette's ``default_*``).

Small modules that use only the public plugin API (``from promoter import ...``):

- :mod:`~promoter.builtins.core` — runs each stage (the one plugin that cannot be disabled);
- :mod:`~promoter.builtins.gates` — reason, freeze windows and approvals;
- :mod:`~promoter.builtins.approvals` — the approval-file format the approval gate reads;
- :mod:`~promoter.builtins.lifecycle` — a release enters a phase only after those before it
  verified it (soak, clean runs; hotfixes skip with a reason and an approval);
- :mod:`~promoter.builtins.console` — what a person watching sees;
- :mod:`~promoter.builtins.reports` — run.json, junit.xml, summary.md and report.html.
"""
