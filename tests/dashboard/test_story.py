"""The static dashboard of the demo's story, as Chromium renders it.

R1 verified in test, then promoted to prod and rolled back (its smoke run fails there by
design); a newer build in dev makes R2, which prod refuses because test has not verified it.
The matrix, the release pages, the run pages, the log pages and the trends say so — asserted
on the DOM Chromium built — with no network, no script and no secret.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema

from promoter.ledger import SQLiteLedger

from .conftest import (
    PARAMETER_SECRET,
    PASSWORD,
    REPO,
    Node,
    Story,
    dump_dom,
    keep_image,
    parse,
    probe,
    screenshot,
)


def rendered(chromium: Path, page: Path, tmp_path: Path) -> Node:
    """``page`` as Chromium rendered it (loaded offline)."""
    from .conftest import OFFLINE

    return parse(dump_dom(chromium, page.as_uri(), tmp_path / "profile", *OFFLINE))


def cell(dom: Node, environment: str, pipeline: str = "finance-release") -> Node:
    """The matrix cell of ``pipeline`` in ``environment``."""
    row = dom.one("tr", data_pipeline=pipeline)
    return row.one("td", data_environment=environment)


# --- the matrix ------------------------------------------------------------------------------------


def test_the_matrix_shows_what_runs_where_after_the_story(
    story: Story, chromium: Path, tmp_path: Path
) -> None:
    dom = rendered(chromium, story.site / "index.html", tmp_path)
    columns = [th.text() for th in dom.one("table", id="matrix").one("thead").all("th")]
    assert columns == ["Pipeline", "test", "prod"]

    # test runs R1, with its exact versions, as Talend still holds it.
    test = cell(dom, "test")
    assert test.one("p", class_="release").attrs["data-release"] == story.r1
    assert test.one("p", class_="release").one("a").attrs["href"] == f"releases/{story.r1}.html"
    assert test.one("p", class_="next").attrs["data-release"] == story.r2  # test may take R2
    versions = [li.text() for li in test.one("ul", class_="versions").all("li")]
    assert versions == [f"{n} {v}" for n, v in sorted(story.versions_r1.items())]
    assert "latest" not in test.text()
    assert test.one("div", class_="drift").attrs["data-state"] == "none"
    assert test.all("p", class_="failed-attempt") == []

    # prod is unchanged: no release in place, and marked with R1's failed attempt...
    prod = cell(dom, "prod")
    assert prod.all("p", class_="release") == []
    assert "no release promoted here yet" in prod.text()
    attempt = prod.one("p", class_="failed-attempt")
    assert attempt.attrs["data-release"] == story.r1 and attempt.attrs["data-run"] == story.prod_run
    assert attempt.attrs["data-status"] == "rolled-back"
    assert "smoke:Finance ledger sync" in attempt.text()
    run_link = attempt.one("a", href=f"runs/{story.prod_run}.html")
    assert run_link.text() == story.prod_run
    # ...and R2, refused by the lifecycle gate, is waiting for test.
    refused = prod.one("p", class_="refused")
    assert refused.attrs["data-release"] == story.r2 and "test has not verified it" in refused.text()
    waiting = prod.one("ul", class_="waiting").one("li", data_release=story.r2)
    assert waiting.text() == f"{story.r2}: waiting for test"

    # The release x phase table says the same.
    table = dom.one("table", class_="release-matrix")
    r2 = [td.text() for td in table.one("tr", data_release=story.r2).all("td")][1:]
    r1 = [td.text() for td in table.one("tr", data_release=story.r1).all("td")][1:]
    assert r1 == ["runs now", "rolled-back"]
    assert r2[1].endswith("waiting for test") and r2[0] == "may promote"

    png = tmp_path / "dashboard-matrix.png"
    data = screenshot(chromium, (story.site / "index.html").as_uri(), png, tmp_path / "profile")
    assert len(data) > 30_000
    keep_image(png, "dashboard-matrix.png")


def test_every_link_of_the_static_site_leads_to_a_page_of_it(story: Story) -> None:
    pages = list(story.site.rglob("*.html"))
    assert len(pages) >= 12
    for page in pages:
        for target in re.findall(r'(?:href|src)="([^"#]+)', page.read_text()):
            # Relative links only: the site works wherever it is copied or served.
            assert not target.startswith("/") and ":" not in target, f"{page.name}: {target}"
            assert (page.parent / target).resolve().is_file(), f"{page.name}: {target}"


# --- a release --------------------------------------------------------------------------------------


def test_a_release_page_shows_its_promotions_evidence_and_what_blocks_it(
    story: Story, chromium: Path, tmp_path: Path
) -> None:
    r1 = rendered(chromium, story.site / "releases" / f"{story.r1}.html", tmp_path)
    ledger = SQLiteLedger(story.ledger)
    try:
        release = ledger.release(story.r1)
    finally:
        ledger.close()
    assert r1.one(id="digest").text() == release.digest
    assert [tr.text() for tr in r1.one("table", class_="versions-table").one("tbody").all("tr")] == [
        f"{n} {v}" for n, v in sorted(release.versions.items())
    ]
    objects = [s.text() for s in r1.one("ul", class_="objects").all("summary")]
    assert objects == [f"{k}:{key}" for k, key in release.objects]

    promotions = {s.attrs["data-run"]: s for s in r1.all("section", class_="promotion")}
    assert set(promotions) == {story.test_run, story.prod_run}
    tested, prod = promotions[story.test_run], promotions[story.prod_run]
    assert tested.attrs["data-status"] == "promoted" and prod.attrs["data-status"] == "rolled-back"
    # The evidence: gates, and each smoke check with its execution; the failed one links its log.
    lifecycle = prod.one("tr", data_gate="lifecycle")
    assert lifecycle.attrs["data-allowed"] == "yes" and "verified in test" in lifecycle.text()
    checks = {tr.all("td")[0].text(): tr for tr in prod.all("tr", class_="check")}
    failed = checks[f"smoke:{story.failed_task}"]
    assert failed.attrs["data-passed"] == "no"
    assert "ERROR Job finance_ledger_sync failed" in failed.one("pre", class_="error-lines").text()
    assert failed.one("a").attrs["href"] == f"../logs/{story.failed_execution}/1.html"
    assert all(tr.attrs["data-passed"] == "yes" for tr in tested.all("tr", class_="check"))
    # Verified in test; prod, its next phase, was rolled back: nothing in the ledger blocks it.
    table = r1.one("table", id="phases")
    phases = {tr.attrs["data-environment"]: tr for tr in table.all("tr") if "data-environment" in tr.attrs}
    assert phases["test"].attrs["data-state"] == "current"
    assert phases["prod"].attrs["data-state"] == "rolled-back"
    assert r1.one("p", class_="blocker").attrs["data-environment"] == "prod"

    r2 = rendered(chromium, story.site / "releases" / f"{story.r2}.html", tmp_path)
    [refused] = r2.all("section", class_="promotion")
    assert refused.attrs["data-status"] == "blocked" and refused.attrs["data-environment"] == "prod"
    denied = refused.one("tr", data_gate="lifecycle")
    assert denied.attrs["data-allowed"] == "no" and "test has not verified it" in denied.text()
    prod_phase = r2.one("table", id="phases").one("tr", data_environment="prod")
    assert "waiting for test" in prod_phase.text()
    test_phase = r2.one("table", id="phases").one("tr", data_environment="test")
    assert f"--release {story.r2} --target test" in test_phase.text()
    assert "1.2.0.20261203090000" in r2.one("table", class_="versions-table").text()

    png = tmp_path / "dashboard-release.png"
    url = (story.site / "releases" / f"{story.r1}.html").as_uri()
    screenshot(chromium, url, png, tmp_path / "profile", size="1280,1500")
    keep_image(png, "dashboard-release.png")


# --- a run, its report, and its failed execution's log -------------------------------------------


def test_a_run_page_shows_its_report_and_links_its_failed_execution(
    story: Story, chromium: Path, tmp_path: Path
) -> None:
    page = story.site / "runs" / f"{story.prod_run}.html"
    dom = rendered(chromium, page, tmp_path)
    assert dom.one(id="run-id").text() == story.prod_run
    assert dom.one(id="outcome").text().startswith("rolled-back (exit 1)")
    [failed] = dom.one("ul", class_="failed-executions").all("li")
    assert failed.attrs["data-execution"] == story.failed_execution
    assert failed.one("a").attrs["href"] == f"../logs/{story.failed_execution}/1.html"
    frame = dom.one("iframe")
    assert frame.attrs["src"] == f"../runs/{story.prod_run}/report.html" and frame.attrs["title"]

    # The report is the reports module's own page, made from the ledger's run.json document.
    report = rendered(chromium, story.site / "runs" / story.prod_run / "report.html", tmp_path)
    assert report.one(id="outcome-status").text() == "rolled-back"
    stages = {g.attrs["data-stage"]: g.attrs["data-status"] for g in report.all("g", class_="stage")}
    assert stages["verify"] == "failed" and "rollback" in stages
    assert "Finance ledger sync" in report.text()

    png = tmp_path / "dashboard-run.png"
    screenshot(chromium, page.as_uri(), png, tmp_path / "profile", size="1280,1700")
    keep_image(png, "dashboard-run.png")


def test_the_run_document_the_report_is_made_from_follows_the_published_schema(story: Story) -> None:
    from promoter.dashboard.runs import run_document

    schema = json.loads((REPO / "docs" / "schemas" / "run-v1.json").read_text())
    ledger = SQLiteLedger(story.ledger)
    try:
        for run_id in (story.test_run, story.prod_run, story.refused_run):
            document = run_document(ledger, ledger.get_run(run_id))
            assert document is not None
            jsonschema.Draft202012Validator(schema).validate(document)
            assert document["run"]["versions"] and "latest" not in document["run"]["versions"].values()
    finally:
        ledger.close()


def test_a_failed_executions_log_page_shows_its_error_lines(
    story: Story, chromium: Path, tmp_path: Path
) -> None:
    page = story.site / "logs" / story.failed_execution / "1.html"
    dom = rendered(chromium, page, tmp_path)
    rows = dom.one("table", id="log").one("tbody").all("tr")
    assert len(rows) >= 5
    errors = [tr for tr in rows if "error" in tr.attrs["class"].split()]
    assert [tr.attrs["data-severity"] for tr in errors] == ["ERROR"]
    assert "Job finance_ledger_sync failed: tDie reached" in errors[0].text()
    assert all(tr.attrs["data-severity"] != "ERROR" for tr in rows if tr not in errors)
    first = errors[0].attrs["id"]
    assert dom.one(id="summary").one("a").attrs["href"] == f"#{first}"
    assert "Ledger schema v11 not found" in dom.text()  # the lines before it are there too

    png = tmp_path / "dashboard-log.png"
    screenshot(chromium, page.as_uri(), png, tmp_path / "profile", size="1280,700")
    keep_image(png, "dashboard-log.png")


def test_a_long_log_is_paged(story: Story, chromium: Path, tmp_path: Path) -> None:
    pages = sorted((story.paged / "logs" / story.failed_execution).glob("*.html"))
    assert [p.name for p in pages] == ["1.html", "2.html", "3.html"]  # 8 lines, 3 a page
    seen: list[str] = []
    for number, page in enumerate(pages, start=1):
        dom = rendered(chromium, page, tmp_path)
        rows = dom.one("table", id="log").one("tbody").all("tr")
        seen += [tr.attrs["id"] for tr in rows]
        pager = dom.all("nav", class_="pager")[0]
        links = {a.attrs["rel"]: a.attrs["href"] for a in pager.all("a")}
        assert links.get("prev") == (f"{number - 1}.html" if number > 1 else None)
        assert links.get("next") == (f"{number + 1}.html" if number < 3 else None)
        assert f"Page {number} of 3, 8 line(s) in all" in dom.one(id="summary").text()
    assert seen == [f"L{n}" for n in range(1, 9)]
    last = parse((pages[-1]).read_text())
    assert "Job finance_ledger_sync failed" in last.one("tr", class_="error").text()


# --- trends -------------------------------------------------------------------------------------------


def test_trends_are_svg_charts_with_text_alternatives(
    story: Story, chromium: Path, tmp_path: Path
) -> None:
    dom = rendered(chromium, story.site / "trends.html", tmp_path)
    per_week = dom.one("figure", id="promotions-per-week")
    svg = per_week.one("svg")
    assert svg.attrs["role"] == "img"
    title, desc = svg.attrs["aria-labelledby"].split()
    assert dom.one(id=title).text() == "Promotions per week, by outcome" and dom.one(id=desc).text()
    bars = {r.attrs["class"]: r for r in svg.all("rect")}
    assert set(bars) == {"s-good", "s-bad", "s-warn"}  # promoted, rolled back, blocked: one each
    heights = {float(r.attrs["height"]) for r in bars.values()}
    assert len(heights) == 1
    numbers = per_week.one("table").one("tbody").all("tr")
    assert [td.text() for td in numbers[-1].all("td")] == ["1", "1", "0", "1"]
    rate = dom.one("figure", id="rollback-rate").one("table").one("tbody").all("tr")[-1]
    assert rate.all("td")[0].text() == "50%"
    # Each smoke-tested task: durations and rejected rows, per release and phase.
    tasks = [h.text() for h in dom.all("h3")]
    assert tasks == ["Finance daily load", "Finance ledger sync"]
    duration = dom.one("figure", id="duration-1")
    labels = [row.all("th")[0].text() for row in duration.one("tbody").all("tr")]
    assert labels == [f"{story.r1} → test", f"{story.r1} → prod"]
    assert {r.attrs["class"] for r in duration.one("svg").all("rect")} == {"s-good", "s-bad"}
    assert "Not in the last phase yet" in dom.text()  # no release reached prod: no lead time

    png = tmp_path / "dashboard-trends.png"
    screenshot(chromium, (story.site / "trends.html").as_uri(), png, tmp_path / "profile", size="1280,1400")
    keep_image(png, "dashboard-trends.png")


# --- offline, accessible, no secret ---------------------------------------------------------------------


ASSET = re.compile(r"""(?:\b(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//)|url\(\s*["']?\s*(?:https?:)?//|@import""", re.IGNORECASE)


def test_the_static_site_needs_no_network(story: Story, chromium: Path, tmp_path: Path) -> None:
    pages = list(story.site.rglob("*.html"))
    for page in pages:
        text = page.read_text()
        assert not ASSET.search(text), f"{page}: {ASSET.search(text)}"
        assert "<script" not in text.lower()
    dashboard_pages = [p for p in pages if p.name != "report.html"]
    for page in dashboard_pages:  # each forbids any request but its own frames
        assert "default-src 'none'" in page.read_text()
    for page in ("index.html", "trends.html", f"runs/{story.prod_run}.html"):
        found = probe(chromium, story.site, page, tmp_path)
        assert found["resources"] == [] or all(r.startswith("file:") for r in found["resources"]), found


def test_the_pages_are_accessible(story: Story, chromium: Path, tmp_path: Path) -> None:
    pages = [
        "index.html",
        f"releases/{story.r1}.html",
        f"runs/{story.prod_run}.html",
        f"logs/{story.failed_execution}/1.html",
        "trends.html",
        "runs.html",
    ]
    for page in pages:
        found = probe(chromium, story.site, page, tmp_path)
        assert found["lang"] == "en" and found["h1"] == 1, (page, found)
        assert found["lowContrast"] == [], (page, found["lowContrast"])
        assert found["unnamed"] == [] and found["unfocused"] == [], (page, found)
        assert found["positiveTabindex"] == 0
        assert found["first"] == "#content", "the first stop of the Tab key skips to the content"
        for svg in found["svgs"]:
            assert svg["role"] == "img" and len(svg["labels"]) == 2 and all(svg["labels"]), svg
    assert len(probe(chromium, story.site, "trends.html", tmp_path)["svgs"]) >= 4


def test_the_accessibility_probe_is_not_blind(chromium: Path, tmp_path: Path) -> None:
    site = tmp_path / "bad"
    site.mkdir()
    (site / "page.html").write_text(
        "<html><body><h1 style='color:#aaa'>pale</h1><a href='x.html'></a>"
        "<a href='y.html' tabindex='3'>y</a><svg><rect width='5' height='5'/></svg></body></html>"
    )
    found = probe(chromium, site, "page.html", tmp_path)
    assert found["lang"] == "" and [c["text"] for c in found["lowContrast"]] == ["pale"]
    assert found["unnamed"] and found["positiveTabindex"] == 1
    assert found["svgs"] == [{"role": None, "labels": []}]


def test_no_secret_appears_in_any_generated_file(story: Story) -> None:
    canaries = [PASSWORD, PARAMETER_SECRET, story.sandbox_token]
    files = [p for site in (story.site, story.paged) for p in site.rglob("*") if p.is_file()]
    assert len(files) > 12
    for path in files:
        text = path.read_text(encoding="utf-8")
        for canary in canaries:
            assert canary not in text, f"{canary[:12]}... in {path}"
    # The secret parameter is in R2, as a fingerprint, shown masked.
    r2 = (story.site / "releases" / f"{story.r2}.html").read_text()
    assert "&#34;API_PASSWORD&#34;: &#34;(secret)&#34;" in r2 or '"API_PASSWORD": "(secret)"' in r2
