"""The drawing page end to end in a real headless browser: Debian's Chromium driven by Playwright.

Never `playwright install` (browser downloads fail offline): the system browser is used through
``executable_path``. `.ci/run` installs Debian's `chromium`; without one this test skips, saying so.
"""

from __future__ import annotations

import os
import shutil

import pytest

from emnist_lib.card import read_card


def chromium() -> str | None:
    for name in (os.environ.get("EMNIST_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        path = name and shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.slow
def test_draw_a_character_and_see_the_top5_bars(live_server, study_model, tmp_path):
    browser_path = chromium()
    if browser_path is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium); .ci/run installs it")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    base, _ = live_server
    classes = read_card(study_model)["class_names"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 900, "height": 520})
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(base + "/")
            page.wait_for_function("document.getElementById('model').textContent.includes('test accuracy')")
            assert "synthetic handwriting" in page.inner_text("#model")
            box = page.locator("#pad").bounding_box()
            x0, y0 = box["x"], box["y"]
            # a '7': the top bar, then the diagonal down to the left, as one stroke
            page.mouse.move(x0 + 70, y0 + 60)
            page.mouse.down()
            for x, y in [(120, 58), (170, 56), (210, 60), (190, 110), (165, 160), (140, 210), (125, 240)]:
                page.mouse.move(x0 + x, y0 + y, steps=6)
            page.mouse.up()
            page.wait_for_function("document.querySelectorAll('#bars .bar').length === 5", timeout=30_000)
            names = page.locator("#bars .bar .name").all_inner_texts()
            widths = page.locator("#bars .bar .fill").evaluate_all("els => els.map(e => parseFloat(e.style.width))")
            page.wait_for_function("document.getElementById('seen').naturalWidth === 28")
            page.screenshot(path=str(tmp_path / "drawing_page.png"), full_page=True)
            assert len(names) == 5 and set(names) <= set(classes) and len(set(names)) == 5
            assert widths == sorted(widths, reverse=True) and 0 < widths[0] <= 100
            assert (tmp_path / "drawing_page.png").stat().st_size > 10_000

            page.click("#clear")  # clearing empties the bars; a new stroke brings them back
            assert page.locator("#bars .bar").count() == 0
            page.mouse.move(x0 + 140, y0 + 40)
            page.mouse.down()
            page.mouse.move(x0 + 140, y0 + 240, steps=10)
            page.mouse.up()
            page.wait_for_function("document.querySelectorAll('#bars .bar').length === 5", timeout=30_000)
            assert not errors, errors
        finally:
            browser.close()
