"""Make the screenshots of ``icssim app`` in docs/img/ (docs/app.md, README) and print how long
Chromium waited for each page.

Serves the app over a copy of this repository's scenarios/ in a temporary folder (nothing is
written into the repository but the PNGs), and drives Debian's Chromium with Playwright
(``pip install '.[test,app]'``; no browser download): a scenario page, a bad value on a phone,
a comparison of three scenarios, a what-if over two numbers (therapists x CYP beds) and a PSA
with 4 draws. Takes a few minutes (the runs are real).

    python docs/make_app_screenshots.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT = 900_000   # ms: a PSA of 4 draws of the ED strategies takes about a minute on two cores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    import uvicorn
    from playwright.sync_api import expect, sync_playwright

    from icssim.app.serve import bind
    from icssim.app.server import create_app

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("Chromium not found (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="icssim-app-shots-"))
    shutil.copytree(ROOT / "scenarios", work / "scenarios")
    sock = bind(0)
    server = uvicorn.Server(uvicorn.Config(create_app(work, workers=args.workers), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    args.out.mkdir(parents=True, exist_ok=True)
    waits: dict[str, list[float]] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
            desk = browser.new_context(viewport={"width": 1280, "height": 860}, base_url=url)
            desk.set_default_timeout(60_000)
            page = desk.new_page()

            def visit(path: str) -> None:
                page.goto(path)
                timing = page.evaluate("() => { const n = performance.getEntriesByType('navigation')[0];"
                                       " return n.responseEnd - n.requestStart; }")
                waits.setdefault(path.split("?")[0], []).append(timing)

            def finish() -> None:
                expect(page.locator("#state")).to_have_text("done", timeout=RUN_TIMEOUT)
                page.locator("a.button", has_text="Open results/").click()

            # a scenario: its pathway and its numbers (the scenarios are read while the app starts)
            time.sleep(8)
            for _ in range(3):
                visit("/scenarios/ed_integrated")
            page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
            page.screenshot(path=str(args.out / "app-scenario-1280.png"))
            for path in ("/", "/compare", "/explore?scenario=ed_integrated", "/psa", "/results"):
                for _ in range(3):
                    visit(path)

            # three scenarios compared
            visit("/compare")
            page.locator("select[name=a]").select_option("ed_fragmented")
            page.locator("input[name=b][value=ed_integrated]").check()
            page.locator("input[name=b][value=ed_freed]").check()
            page.locator("form.stack input[name=replications]").fill("2")
            page.get_by_role("button", name="Compare", exact=True).click()
            finish()
            page.frame_locator("iframe.report").locator("img").first.wait_for()
            page.screenshot(path=str(args.out / "app-compare-1280.png"))

            # what if: therapists x CYP beds, twice (the second answer comes from the cache)
            for _ in range(2):
                visit("/explore?scenario=ed_integrated")
                page.locator("select[name=key]").select_option("services.ed_service.staff.therapist.wte")
                page.locator("input[name=values]").fill("60, 70, 80")
                page.locator("select[name=key2]").select_option("services.cyp_inpatient.beds")
                page.locator("input[name=values2]").fill("6, 10")
                page.locator("input[name=replications]").fill("3")
                page.get_by_role("button", name="Run what-if").click()
                started = time.perf_counter()
                finish()
                print(f"what-if 3 x 2 values, 3 replications: {time.perf_counter() - started:.1f} s "
                      f"({page.url.rsplit('/', 1)[-1]})")
            page.locator("img.plot").scroll_into_view_if_needed()
            page.screenshot(path=str(args.out / "app-whatif-1280.png"))

            # a PSA with 4 draws
            visit("/psa")
            page.locator("select[name=sweep]").select_option("ed_psa")
            page.locator("input[name=draws]").fill("4")
            page.get_by_role("button", name="Run PSA").click()
            finish()
            page.locator("pre.answer").scroll_into_view_if_needed()
            page.screenshot(path=str(args.out / "app-psa-1280.png"))

            # a bad value, on a phone
            phone = browser.new_context(viewport={"width": 390, "height": 844}, base_url=url, device_scale_factor=1)
            page = phone.new_page()
            page.goto("/scenarios/ed_integrated")
            section = page.locator("details.group", has=page.locator("summary", has_text="services / ed_service"))
            section.locator("summary").click()
            page.locator('input[name="services.ed_service.staff.therapist.wte"]').fill("-80")
            page.get_by_role("button", name="Check").click()
            page.locator(".field.invalid").scroll_into_view_if_needed()
            page.screenshot(path=str(args.out / "app-error-390.png"))
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    print("Chromium's wait for each page (request start to response end), ms:")
    for path, values in waits.items():
        print(f"  {path:36s} median {statistics.median(values):6.1f}  max {max(values):6.1f}  (n={len(values)})")
    print(f"wrote app-scenario-1280.png, app-compare-1280.png, app-whatif-1280.png, app-psa-1280.png, "
          f"app-error-390.png in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
