"""Log pages through ``promoter_execution_log``, answered by a plugin of the test as a third-party
platform plugin would: the lines are data — escaped, never markup, never a template — and a
plugin that answers wrongly or fails is named on the page, which still renders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promoter import hookimpl
from promoter.dashboard.data import Dashboard, Execution, Source
from promoter.dashboard.site import Site
from promoter.errors import PluginError
from promoter.hooks.calls import PromoterHooks
from promoter.hooks.manager import get_plugin_manager
from promoter.ledger import SQLiteLedger
from promoter.pipeline import load_pipeline

from .conftest import PASSWORD, REPO, dump_dom, parse

HOSTILE = [
    {"at": "2026-12-03T10:00:00.000Z", "severity": "INFO", "message": "<script>document.title='owned'</script>"},
    {"at": "2026-12-03T10:00:01.000Z", "severity": "warn", "message": "{{ 7 * 7 }} {% raw %}<img src=x onerror=alert(1)>"},
    {"at": None, "severity": "ERROR", "message": "Job failed\n\tat Step.run(Step.java:42)\u001b[31m red\u202e"},
    {"at": "2026-12-03T10:00:03.000Z", "severity": "fatal", "message": "</td></tr></table><h1>forged</h1>"},
]


class ScriptedLog:
    """A platform plugin whose executions' logs are ``lines`` (or whose answer is ``answer``)."""

    name = "scripted-log"

    def __init__(self, lines: list[dict[str, Any]] | None = None, answer: Any = None) -> None:
        self.lines = lines or []
        self.answer = answer
        self.asked: list[tuple[str, int, int]] = []

    @hookimpl
    def promoter_execution_log(self, run: Any, execution_id: str, start: int, count: int) -> Any:
        self.asked.append((execution_id, start, count))
        if self.answer is not None:
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer
        following = start + count if start + count < len(self.lines) else None
        return {"lines": self.lines[start : start + count], "total": len(self.lines), "next": following}


def site_with(plugin: ScriptedLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    """A live site of ``pipelines/release.yaml`` whose one known execution is ``exec-1`` (prod)."""
    monkeypatch.setenv("FINANCE_DB_PASSWORD", PASSWORD)
    pm = get_plugin_manager(load_entrypoints=False, extra=[plugin], disabled=())
    pm.check()
    hooks = PromoterHooks(pm)
    loaded = load_pipeline(REPO / "pipelines" / "release.yaml", hooks=hooks)
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    source = Source("pipelines/release.yaml", loaded)
    dashboard = Dashboard(hooks, ledger, [source], log_page_size=2)
    dashboard.remember(Execution("exec-1", source, "prod", "Finance daily load", None))
    return Site(dashboard, live=True, refresh=30)


def test_log_lines_are_data_escaped_never_markup_or_templates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chromium: Path
) -> None:
    plugin = ScriptedLog(HOSTILE)
    site = site_with(plugin, tmp_path, monkeypatch)
    pages = {n: site.page(f"logs/exec-1/{n}.html") for n in (1, 2)}
    assert plugin.asked == [("exec-1", 0, 2), ("exec-1", 2, 2)]  # one page a call
    assert site.page("logs/exec-1/3.html") is None  # past the end: no page
    assert site.page("logs/exec-2/1.html") is None  # an execution no run recorded: no page
    for number, text in pages.items():
        assert text is not None
        page = tmp_path / f"{number}.html"
        page.write_text(text)
        dom = parse(dump_dom(chromium, page.as_uri(), tmp_path / "profile"))
        assert dom.one("title").text().startswith("Log of exec-1")  # no script ran
        assert dom.all("script") == [] and dom.all("img") == [] and len(dom.all("h1")) == 1
        rows = dom.one("table", id="log").one("tbody").all("tr")
        assert len(rows) == 2
    first = parse(pages[1] or "").one("table", id="log").text()
    assert "<script>document.title='owned'</script>" in first
    assert "{{ 7 * 7 }} {% raw %}<img src=x onerror=alert(1)>" in first and "49" not in first
    second = parse(pages[2] or "")
    rows = second.one("table", id="log").one("tbody").all("tr")
    assert [r.attrs["data-severity"] for r in rows] == ["ERROR", "FATAL"]
    assert all("error" in r.attrs["class"].split() for r in rows)
    message = rows[0].one("td", class_="msg").text()
    assert "\u001b" not in message and "\\x1b[31m" in message and "\u202e" not in message
    assert "</td></tr></table><h1>forged</h1>" in rows[1].text()
    assert second.one(id="summary").text().startswith("2 ERROR line(s) on this page")


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ("three lines", "promoter_execution_log returned str, not a mapping with a list of lines"),
        ({"lines": [{"message": 42}]}, "the plugin answered an unreadable log page"),
        (RuntimeError("Talend said no"), "RuntimeError: Talend said no"),
    ],
)
def test_a_plugin_answering_wrongly_is_named_and_the_page_still_renders(
    answer: Any, shown: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = site_with(ScriptedLog(answer=answer), tmp_path, monkeypatch)
    text = site.page("logs/exec-1/1.html")
    assert text is not None
    problem = parse(text).one("p", class_="problem")
    assert problem.attrs["role"] == "alert" and shown in problem.text()


def test_the_typed_call_checks_what_a_plugin_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = site_with(ScriptedLog(answer=["not", "a", "page"]), tmp_path, monkeypatch)
    execution = site.dashboard.execution("exec-1")
    assert execution is not None
    from promoter.context import RunOptions
    from promoter.engine.runs import build_context

    run = build_context(
        execution.source.loaded, target="prod", options=RunOptions(dry_run=True), command="dashboard"
    )
    try:
        with pytest.raises(PluginError, match="returned list, not a mapping") as raised:
            site.dashboard.hooks.execution_log(run=run, execution_id="exec-1", start=0, count=10)
    finally:
        run.close()
    assert raised.value.plugin.split(", ")[0] == "scripted-log"  # called first: it answered
