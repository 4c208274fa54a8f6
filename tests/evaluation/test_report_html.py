"""report.html: self-contained, escaped, and rendered by headless Chromium without errors.

The browser test needs the Debian ``chromium`` package (``apt-get install -y chromium``) and the
``playwright`` Python package from the dev extra; it never downloads a browser.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest

from drafting.evaluation import run_suite
from drafting.schema import Case, Draft
from tests.evaluation.harness_support import FAKE_METRICS, make_cases, make_draft, write_suite

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCRIPT = "<script>document.title='pwned'</script>"
IMG = "<img src=x onerror=\"document.title='pwned'\">"


async def hostile_draft(case: Case) -> Draft:
    if case.id == "case-03":
        raise RuntimeError(f"reply contained {SCRIPT}")
    draft = make_draft(case)
    draft.report.findings = f"{SCRIPT} findings {IMG}"
    draft.report.diagnosis.primary = IMG
    return draft


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    cases = make_cases(tmp / "cases", n=5)
    # Hostile text in a case's input and gold, as a malicious or careless case file would hold.
    case = cases[0]
    case.input.clinical_history = f"History {SCRIPT} and {IMG}"
    case.gold.final_diagnosis = SCRIPT
    from drafting.cases import save_case

    save_case(case, tmp / "cases")
    suite = write_suite(tmp / "suite.yaml", tmp / "cases")
    run = run_suite(suite, draft_fn=hostile_draft, metrics=FAKE_METRICS, out=tmp / "runs")
    return run.dir / "report.html"


def test_report_is_self_contained_and_escaped(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "<img" not in page.lower() and "onerror=\"" not in page
    assert "&lt;script&gt;document.title=" in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page), "no remote resources"
    assert page.count("<svg") >= 2  # one plot per section (findings, cost)
    assert "case-00" in page and "History" in page  # input shown
    assert "RuntimeError" in page  # the failed case is visible
    assert "95% interval" in page and "ref-1" in page  # summary and references used


def _require_browser() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium not installed (CI: apt-get update && apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) not installed")


def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    _require_browser()
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 2000})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(report.as_uri())
            page.wait_for_load_state("load")
            title = page.title()
            page.locator("details.case").first.evaluate("d => d.open = true")
            text = page.inner_text("body")
            png = page.screenshot(full_page=False)
        finally:
            browser.close()
    assert errors == []
    assert title.startswith("Evaluation run ") and "pwned" not in title  # no script ran
    assert "<script>document.title='pwned'</script>" in text  # shown as text
    _assert_not_blank(png)


def _assert_not_blank(png: bytes) -> None:
    from PIL import Image, ImageStat

    img = Image.open(io.BytesIO(png)).convert("L")
    assert img.size == (1200, 2000)
    stat = ImageStat.Stat(img)
    assert stat.stddev[0] > 5, "screenshot is blank"
    dark = sum(img.histogram()[:128]) / (img.size[0] * img.size[1])
    assert dark > 0.002, "no text drawn"
