"""Open the report in headless Chromium: no console errors, every figure decoded, tables sort,
filter and highlight, screenshot."""

import pytest
from cdp import Browser, find_chromium
from study_fixture import make_study

from shiftlab.cli import main

IMAGES_JS = """
Array.from(document.images).map(img => ({alt: img.alt, complete: img.complete, width: img.naturalWidth}))
"""


# Sort the accuracy table by its second column twice, filter it for "r2", highlight run r2.
INTERACTIVE_JS = """
(() => {
  const table = document.querySelector('#accuracy table');
  const th = table.tHead.rows[0].cells[1];
  const column = () => Array.from(table.tBodies[0].rows).map(r => parseFloat(r.cells[1].textContent));
  th.click(); const ascending = column();
  th.click(); const descending = column();
  const filter = table.previousElementSibling;
  filter.value = 'r2'; filter.dispatchEvent(new Event('input'));
  const shown = Array.from(table.tBodies[0].rows).filter(r => !r.hidden).map(r => r.cells[0].textContent);
  Array.from(table.tBodies[0].rows).find(r => r.cells[0].textContent === 'r2').cells[0].click();
  const highlighted = document.querySelectorAll('tr.hl').length;
  return {ascending, descending, shown, highlighted};
})()
"""


@pytest.mark.browser
def test_report_in_headless_chromium(tmp_path):
    binary = find_chromium()
    if binary is None:
        pytest.fail(
            "chromium is not installed (apt-get install -y chromium); the browser test needs it"
        )
    root = tmp_path / "results" / "demo"
    study = make_study(root, per_class=4)
    args = ["--stats-json", study["stats_json"], "--out-dir", str(root)]
    assert main(["aggregate", "--study", "demo", "--metrics", *study["metrics"], "--predictions",
                 *study["predictions"], *args]) == 0  # fmt: skip
    report = root / "report.html"
    assert main(["report", "--results-dir", str(root), "--out", str(report)]) == 0

    browser = Browser(binary)
    try:
        browser.call("Runtime.enable")
        browser.call("Log.enable")
        browser.call("Page.enable")
        browser.call("Page.navigate", url=report.as_uri())
        browser.wait_for("Page.loadEventFired")
        images = browser.evaluate(IMAGES_JS)
        anchors_ok = browser.evaluate(
            "Array.from(document.querySelectorAll('td a[href^=\"#s\"]'))"
            ".every(a => document.getElementById(a.getAttribute('href').slice(1)) !== null)"
        )
        interactive = browser.evaluate(INTERACTIVE_JS)
        shot = browser.screenshot(tmp_path / "report.png")
        errors = browser.console_errors()
    finally:
        browser.close()
    assert not errors, errors
    assert len(images) == 10, images
    assert all(img["complete"] and img["width"] > 0 for img in images), images
    assert anchors_ok
    # the accuracy table sorts by a clicked column (numbers, both ways) and filters by text
    ascending, descending = interactive["ascending"], interactive["descending"]
    assert len(ascending) == 4 and ascending == sorted(ascending), interactive
    assert descending == sorted(ascending, reverse=True), interactive
    assert interactive["shown"] == ["r2"] and interactive["highlighted"] > 1, interactive
    assert shot.stat().st_size > 10_000
