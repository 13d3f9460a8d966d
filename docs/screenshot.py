"""The README's picture of the drawing page: starts `serve` with a model, draws a character in headless
Chromium (Debian's, through playwright's executable_path) and saves a screenshot.

    python docs/screenshot.py [--model report/quick/models/final_cnn.keras] [--out docs/drawing_page.png]
"""

from __future__ import annotations

import argparse
import shutil

# One stroke of a capital 'A' and its bar, in canvas pixels (280x280).
STROKES = [[(60, 245), (100, 150), (140, 40), (180, 150), (220, 245)], [(95, 165), (140, 165), (185, 165)]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--out", default="docs/drawing_page.png")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from emnist_lib.serve import running

    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser_path:
        raise SystemExit("needs Debian's chromium: apt-get install chromium")
    with running(args.model) as (base, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 760, "height": 470})
        page.goto(base + "/")
        page.wait_for_function("document.getElementById('model').textContent.includes('test accuracy')")
        box = page.locator("#pad").bounding_box()
        for stroke in STROKES:
            page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
            page.mouse.down()
            for x, y in stroke[1:]:
                page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
            with page.expect_response(lambda r: "/predict" in r.url):  # the page asks when a stroke ends
                page.mouse.up()
        page.wait_for_function("document.querySelectorAll('#bars .bar').length === 5")
        page.wait_for_timeout(300)
        page.screenshot(path=args.out, full_page=True)
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
