"""The dashboard's pages: their paths, their templates, and the static site.

Every page has one path relative to the site's root, the same in a static site (``--out``)
and served live (``--serve``)::

    index.html                    the matrix: pipelines down, lifecycle phases across
    releases.html, releases-N.html  the releases, newest first, a page of 50 each
    releases/<id>.html            a release: digest, versions, objects, promotions, what blocks it
    runs.html, runs-N.html        the runs, newest first, a page of 50 each
    runs/<id>.html                a run: outcome, gates, evidence, failed executions
    runs/<id>/report.html         the run's report.html, made again from the ledger
    logs/<execution>/<n>.html     page n of an execution's log
    trends.html                   trends

Links between pages are relative, so a static site works from any directory, any static host
and ``file://``. Templates live in ``templates/`` and are rendered in promoter's Jinja2 sandbox
with autoescaping: every value is data (a Talend log line, a task name), escaped, never markup.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from promoter.dashboard.data import Dashboard, iso, slug
from promoter.dashboard.logs import MAX_STATIC_PAGES, log_page
from promoter.dashboard.runs import report_html
from promoter.dashboard.trends import trends
from promoter.errors import PromoterError
from promoter.terminal import printable

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE_SIZE = 50
"""Rows of a paged list (runs, releases)."""

NAVIGATION = (
    ("index.html", "What runs where"),
    ("releases.html", "Releases"),
    ("runs.html", "Runs"),
    ("trends.html", "Trends"),
)

_ID = r"(?P<ident>[A-Za-z0-9][A-Za-z0-9_.-]{0,159})"
ROUTES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"index\.html"), "matrix_page"),
    (re.compile(r"trends\.html"), "trends_page"),
    (re.compile(r"releases(?:-(?P<number>[1-9][0-9]{0,6}))?\.html"), "releases_page"),
    (re.compile(rf"releases/{_ID}\.html"), "release_page"),
    (re.compile(r"runs(?:-(?P<number>[1-9][0-9]{0,6}))?\.html"), "runs_page"),
    (re.compile(rf"runs/{_ID}\.html"), "run_page"),
    (re.compile(rf"runs/{_ID}/report\.html"), "report_page"),
    (re.compile(rf"logs/{_ID}/(?P<number>[1-9][0-9]{{0,5}})\.html"), "log_page"),
)
"""Page path -> the method that makes it (a path matching none is not a page: 404)."""


def _shown(value: Any) -> Any:
    """What ``{{ value }}`` writes: control characters and direction overrides made visible (and
    then escaped, by autoescaping); markup the templates built is left as it is."""
    from markupsafe import Markup

    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    return value


def list_page(prefix: str, number: int) -> str:
    """``runs.html`` for page 1, ``runs-2.html`` for page 2..."""
    return f"{prefix}.html" if number == 1 else f"{prefix}-{number}.html"


class Site:
    """The pages of a dashboard, by path.

    ``live`` pages are served (``--serve``): they reload every ``refresh`` seconds, and every run,
    release and log is a page. A static site holds the runs and releases of the history window,
    and the first :data:`MAX_STATIC_PAGES` pages of each log it links to.
    """

    def __init__(self, dashboard: Dashboard, *, live: bool = False, refresh: int | None = None):
        import jinja2

        from promoter.pipeline.templating import sandboxed_environment

        self.dashboard = dashboard
        self.live = live
        self.refresh = refresh if live else None
        self.runs_kept: set[str] | None = None
        """Run ids with a page (``None``: any run, when served)."""
        self.releases_kept: set[str] | None = None
        self.environment = sandboxed_environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES)),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=_shown,
        )
        self.environment.globals.update(
            run_page=self._run_page,
            release_page=self._release_page,
            log_page=self._log_page,
        )

    def _run_page(self, run_id: str | None) -> str | None:
        found = slug(run_id)
        if found and self.runs_kept is not None and found not in self.runs_kept:
            return None
        return found

    def _log_page(self, execution_id: str | None) -> str | None:
        # Logs are read from the platform: none with --no-check (the ledger only).
        return slug(execution_id) if self.dashboard.check_target else None

    def _release_page(self, release_id: str | None) -> str | None:
        found = slug(release_id)
        if found and self.releases_kept is not None and found not in self.releases_kept:
            return None
        return found

    # --- pages -------------------------------------------------------------------------------

    def page(self, path: str) -> str | None:
        """The page at ``path`` (``runs/X.html``), or ``None`` when there is none."""
        for pattern, method in ROUTES:
            match = pattern.fullmatch(path)
            if match:
                found: Callable[..., str | None] = getattr(self, method)
                return found(path, **{k: v for k, v in match.groupdict().items() if v})
        return None

    def render(self, template: str, path: str, **context: Any) -> str:
        """A page from its template; ``path`` tells how deep it is (for relative links)."""
        from promoter.pipeline.templating import render

        return render(
            self.environment.get_template(template),
            {
                "root": "../" * path.count("/"),
                "path": path,
                "live": self.live,
                "refresh": self.refresh,
                "generated_at": self.dashboard.matrix_time(),
                "navigation": NAVIGATION,
                **context,
            },
        )

    def matrix_page(self, path: str) -> str:
        """``index.html``: what runs where."""
        return self.render("matrix.html.j2", path, current="index.html", matrix=self.dashboard.matrix())

    def trends_page(self, path: str) -> str:
        """``trends.html``."""
        return self.render("trends.html.j2", path, current="trends.html", trends=trends(self.dashboard))

    def _paged(self, items: list[Any], prefix: str, number: int) -> dict[str, Any] | None:
        pages = max(1, math.ceil(len(items) / PAGE_SIZE))
        if number > pages:
            return None
        return {
            "rows": items[(number - 1) * PAGE_SIZE : number * PAGE_SIZE],
            "number": number,
            "pages": pages,
            "total": len(items),
            "first": (number - 1) * PAGE_SIZE + 1,
            "previous": list_page(prefix, number - 1) if number > 1 else None,
            "next": list_page(prefix, number + 1) if number < pages else None,
        }

    def releases_page(self, path: str, number: str = "1") -> str | None:
        """``releases.html``, ``releases-N.html``: the releases, newest first."""
        runs_now = self.dashboard.runs_now()
        rows = [
            {
                "id": r.id,
                "created_at": iso(r.created_at),
                "versions": sorted(r.versions.items()),
                "digest_short": r.digest[:15],
                "hotfix": r.hotfix,
                "pipeline": r.pipeline,
                "runs_in": runs_now.get(r.id, []),
            }
            for r in self.dashboard.releases()
        ]
        paged = self._paged(rows, "releases", int(number))
        if paged is None:
            return None
        return self.render("releases.html.j2", path, current="releases.html", paged=paged)

    def release_page(self, path: str, ident: str) -> str | None:
        """``releases/<id>.html``."""
        if self.releases_kept is not None and ident not in self.releases_kept:
            return None
        view = self.dashboard.release_view(ident)
        if view is None:
            return None
        return self.render("release.html.j2", path, current="releases.html", view=view)

    def runs_page(self, path: str, number: str = "1") -> str | None:
        """``runs.html``, ``runs-N.html``: the runs, newest first."""
        rows = [
            {
                "id": r.id,
                "at": iso(r.created_at),
                "target": r.target,
                "status": r.status.value,
                "release": r.release,
                "pipeline": r.pipeline_name,
                "user": r.user,
                "dry_run": r.dry_run,
                "hotfix": r.hotfix,
                "message": r.message,
            }
            for r in self.dashboard.runs()
        ]
        paged = self._paged(rows, "runs", int(number))
        if paged is None:
            return None
        return self.render("runs.html.j2", path, current="runs.html", paged=paged)

    def run_page(self, path: str, ident: str) -> str | None:
        """``runs/<id>.html``."""
        if self.runs_kept is not None and ident not in self.runs_kept:
            return None
        view = self.dashboard.run_view(ident)
        if view is None:
            return None
        return self.render("run.html.j2", path, current="runs.html", run=view)

    def report_page(self, path: str, ident: str) -> str | None:
        """``runs/<id>/report.html``: the run's own report (the reports module's page)."""
        if self.runs_kept is not None and ident not in self.runs_kept:
            return None
        try:
            record = self.dashboard.ledger.get_run(ident)
        except PromoterError:
            return None
        if record.id != ident:
            return None
        return report_html(self.dashboard.ledger, record)

    def log_page(self, path: str, ident: str, number: str) -> str | None:
        """``logs/<execution>/<n>.html``: page n of a log the dashboard links to."""
        view = self.log_view(ident, int(number))
        if view is None:
            return None
        return self.render("log.html.j2", path, current=None, log=view)

    def log_view(self, execution_id: str, page: int) -> dict[str, Any] | None:
        """Page ``page`` of the log of an execution the pages link to (``None``: no such page)."""
        if not self._log_page(execution_id) or (not self.live and page > MAX_STATIC_PAGES):
            return None
        execution = self.dashboard.execution(execution_id)
        if execution is None:
            return None
        view = log_page(self.dashboard.hooks, execution, page, self.dashboard.log_page_size)
        if page > 1 and not view["lines"] and view["error"] is None:
            return None
        kept = self.live or page < MAX_STATIC_PAGES
        view["next_page"] = f"{page + 1}.html" if view["has_next"] and kept else None
        view["truncated"] = view["has_next"] and not kept
        view["previous_page"] = f"{page - 1}.html" if page > 1 else None
        return view

    # --- the static site ---------------------------------------------------------------------

    def write(self, out: Path) -> list[Path]:
        """Write every page into ``out``: the matrix, trends, the releases and runs of the
        history window (each run with its report), and the logs they link to."""
        self.dashboard.refresh()
        releases = self.dashboard.releases()
        runs = self.dashboard.runs()
        self.releases_kept = {r.id for r in releases if slug(r.id)}
        self.runs_kept = {r.id for r in runs if slug(r.id)}
        paths = ["index.html", "trends.html"]
        paths += [list_page("releases", n) for n in range(1, max(1, math.ceil(len(releases) / PAGE_SIZE)) + 1)]
        paths += [f"releases/{r.id}.html" for r in releases if r.id in self.releases_kept]
        paths += [list_page("runs", n) for n in range(1, max(1, math.ceil(len(runs) / PAGE_SIZE)) + 1)]
        for record in runs:
            if record.id in self.runs_kept:
                paths += [f"runs/{record.id}.html", f"runs/{record.id}/report.html"]
        written = [p for p in (self._write(out, path) for path in paths) if p is not None]
        # Last: every execution the pages above linked to (they remembered each one).
        for execution in list(self.dashboard.executions.values()):
            for number in range(1, MAX_STATIC_PAGES + 1):
                view = self.log_view(execution.execution_id, number)
                if view is None:
                    break
                path = f"logs/{execution.execution_id}/{number}.html"
                written.append(self._save(out, path, self.render("log.html.j2", path, current=None, log=view)))
                if view["next_page"] is None:
                    break
        return written

    def _write(self, out: Path, path: str) -> Path | None:
        text = self.page(path)
        return None if text is None else self._save(out, path, text)

    @staticmethod
    def _save(out: Path, path: str, text: str) -> Path:
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target
