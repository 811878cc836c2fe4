"""The pathway drawing on a phone (390 px), in Chromium: legible, in a box of its own that scrolls
sideways, the page no wider than the screen (an audit found it squeezed to 560 px, its text about
4 px high). Shares the browser and server of ``test_app_browser.py``; skips as it does."""
# ruff: noqa: F811 (the fixture ``browser`` is test_app_browser.py's, imported, then named as an argument)

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the app's extra is not installed: pip install '.[app]'")
pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install '.[test]' brings it)")

from helpers import SCENARIOS  # noqa: E402
from test_app_browser import _context, _serve, browser  # noqa: E402,F401

#: ed_integrated's drawing is 1,324 px wide at its own size (its text 8 to 9 pt, 11 to 12 px).
SCENARIO = "ed_integrated"


@pytest.fixture(scope="module")
def shipped_url(tmp_path_factory):
    root = tmp_path_factory.mktemp("app-phone")
    (root / "scenarios").mkdir()
    for name in ("ed_integrated", "ed_fragmented"):   # ed_integrated extends ed_fragmented
        shutil.copy(SCENARIOS / f"{name}.yaml", root / "scenarios" / f"{name}.yaml")
    with _serve(root) as url:
        yield url


def _drawing(page) -> dict:
    page.goto(f"/scenarios/{SCENARIO}")
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)", timeout=60_000)
    return page.evaluate("""() => { const img = document.querySelector('.diagram img'), box = img.parentElement;
        return {shown: img.getBoundingClientRect().width, natural: img.naturalWidth, box: box.clientWidth,
                scrolls: box.scrollWidth, left: box.scrollLeft, page: document.documentElement.scrollWidth,
                hint: getComputedStyle(document.querySelector('.diagram-hint')).display}; }""")


def test_the_pathway_is_legible_on_a_phone_in_its_own_scroll_box(browser, shipped_url, tmp_path):
    context = _context(browser, shipped_url, 390)
    try:
        page = context.new_page()
        d = _drawing(page)
        assert d["natural"] > 390
        assert d["shown"] >= 0.95 * d["natural"], d          # at its own size: text 11 px, not 4
        assert d["box"] <= 390 and d["scrolls"] > d["box"], d   # in a box that scrolls sideways
        assert d["page"] <= 390, d                              # the page itself does not
        assert d["left"] > 0, d                                 # opened at the drawing's middle
        assert d["hint"] == "block"
        folder = Path(os.environ.get("ICSSIM_APP_SHOTS") or tmp_path)
        folder.mkdir(parents=True, exist_ok=True)
        shot = folder / "app-pathway-390.png"
        page.locator("details.pathway").screenshot(path=str(shot))
    finally:
        context.close()
    import matplotlib.image as mpimg

    image = mpimg.imread(shot)
    assert image.shape[1] <= 390 and image[..., :3].std() > 0.05, "the screenshot is blank"


def test_the_pathway_fits_a_desktop_screen_as_before(browser, shipped_url):
    context = _context(browser, shipped_url, 1280)
    try:
        d = _drawing(context.new_page())
        assert d["shown"] <= d["box"] and d["scrolls"] <= d["box"] + 1, d   # scaled to the box: no scrolling
        assert d["hint"] == "none"
    finally:
        context.close()
