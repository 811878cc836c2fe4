"""``icssim app`` in a real browser: Playwright drives Debian's Chromium (no browser download)
against the real server (uvicorn on 127.0.0.1) over a small scenario (about 0.2 s a
replication). A planner's path: open the app, change a value, see the command line's message
for a bad value inline, run a short scenario and read its report, compare two scenarios; and
the scenario page at desktop (1280 px) and phone (390 px) widths, which must not scroll sideways.

Skips, saying why, where Playwright (the ``test`` extra) or Chromium (Debian: ``apt-get install
chromium``; ``.ci/run`` installs it) is missing. Set ``ICSSIM_APP_SHOTS=<folder>`` to keep the
screenshots."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
import warnings
from pathlib import Path

import pytest
from helpers import skip_unless_required

pytest.importorskip("starlette", reason="the app's extra is not installed: pip install '.[app]'")
sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright is not installed (pip install '.[test]' brings it)")

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "report_pathway.yaml"
WTE = "services.ed_team.staff.clinician.wte"
#: Longest wait for a page element, and for a run, in ms (a run here takes a few seconds).
TIMEOUT = 10_000
RUN_TIMEOUT = 60_000


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _demo_folder(root: Path) -> Path:
    """``root`` with scenarios/demo.yaml, demo_more.yaml and a PSA of them."""
    (root / "scenarios").mkdir(parents=True)
    text = FIXTURE.read_text().replace("horizon: 3 years", "horizon: 2 years")
    (root / "scenarios" / "demo.yaml").write_text(text.replace("name: report_demo", "name: demo"))
    (root / "scenarios" / "demo_more.yaml").write_text(
        "extends: demo.yaml\nscenario:\n  name: demo_more\nservices:\n  ed_team:\n    staff:\n"
        "      clinician: {wte: 3}   # one more clinician\n")
    (root / "scenarios" / "sweeps").mkdir()
    (root / "scenarios" / "sweeps" / "demo_psa.yaml").write_text(
        "sweep: {name: demo_psa, description: the demo's clinician cost uncertain}\n"
        "base: {the_demo_as_it_is: ../demo.yaml, the_demo_with_one_more_clinician: ../demo_more.yaml}\n"
        "design: psa\nsamples: 50\nparameters:\n"
        "  services.ed_team.staff.clinician.cost_per_hour: {dist: gamma, mean: 68, sd: 7}\n")
    return root


@contextlib.contextmanager
def _serve(root: Path):
    """The app for ``root``, served by uvicorn on 127.0.0.1 until the block ends (as Ctrl-C stops it)."""
    import uvicorn

    from icssim.app.serve import bind
    from icssim.app.server import create_app

    sock = bind(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = create_app(root, workers=1)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.jobs.stop_all()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The app, served by uvicorn on 127.0.0.1 for this module, over a folder of two small scenarios."""
    with _serve(_demo_folder(tmp_path_factory.mktemp("app"))) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, driven by Playwright."""
    path = _chromium()
    if path is None:
        skip_unless_required("browser", "Chromium not found (Debian: apt-get install chromium; .ci/run installs it)")
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        except sync_api.Error as exc:
            skip_unless_required("browser", f"Playwright could not start {path}: {str(exc).splitlines()[0]}")
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=app_url)
    context.set_default_timeout(TIMEOUT)
    yield context.new_page()
    context.close()


def _context(browser, url: str, width: int):
    """A browser context on the app at ``url``, ``width`` px wide, 900 high, one pixel per CSS pixel."""
    context = browser.new_context(viewport={"width": width, "height": 900}, base_url=url, device_scale_factor=1)
    context.set_default_timeout(TIMEOUT)
    return context


def _field(page, key: str):
    return page.locator(f'input[name="{key}"]')


def _open_group(page, group: str) -> None:
    """Open a closed section of the numbers, as a planner clicks its title."""
    section = page.locator("details.group", has=page.locator("summary", has_text=group))
    if section.get_attribute("open") is None:
        section.locator("summary").click()


def _wait_done(page) -> None:
    """On a job's page: wait until the page (which polls the server) shows the run finished."""
    sync_api.expect(page.locator("#state")).to_have_text("done", timeout=RUN_TIMEOUT)


def test_change_a_value_see_the_error_inline_then_fix_it(page):
    page.goto("/")
    page.locator('a.card[href="/scenarios/demo"]').click()
    sync_api.expect(page.locator("h1")).to_have_text("demo")
    sync_api.expect(page.locator(".diagram img")).to_be_visible()
    sync_api.expect(_field(page, WTE)).to_be_hidden()                  # its section starts closed
    _open_group(page, "services / ed_team")
    _field(page, WTE).fill("-2")
    page.get_by_role("button", name="Check").click()
    invalid = page.locator(".field.invalid")
    sync_api.expect(invalid).to_have_count(1)
    sync_api.expect(invalid.locator(".message")).to_have_text(f"{WTE}: expected a number at least 0, found -2")
    sync_api.expect(_field(page, WTE)).to_have_value("-2")            # what was typed stays
    sync_api.expect(_field(page, WTE)).to_have_attribute("aria-invalid", "true")
    sync_api.expect(page.locator(".summary[role=alert]")).to_contain_text("1 problem(s)")
    page.locator(".summary a").first.click()                          # the summary links to the field
    assert page.url.endswith(f"#f-{WTE}")
    _field(page, WTE).fill("2.5")
    page.get_by_role("button", name="Check").click()
    sync_api.expect(page.locator("p.ok[role=status]")).to_have_text(
        "1 value(s) changed; all checks pass. Give the new scenario a name and save it.")
    sync_api.expect(page.locator(".field.invalid")).to_have_count(0)


def test_run_asks_first_when_values_on_the_page_are_not_saved(page):
    """Run runs the file as saved: with a value changed (and checked) but not saved, it says so and
    asks, rather than silently running the old values (found by an audit)."""
    page.goto("/scenarios/demo")
    _open_group(page, "services / ed_team")
    _field(page, WTE).fill("2.5")
    page.get_by_role("button", name="Check").click()                  # checked, still not saved
    sync_api.expect(page.locator("p.ok[role=status]")).to_contain_text("1 value(s) changed")
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.get_by_role("button", name="Run", exact=True).click()
    sync_api.expect(page.locator("h1")).to_have_text("demo")         # dismissed: nothing ran
    assert asked and "without the values you changed" in asked[0]


def test_choosing_another_scenario_for_a_what_if_loads_its_numbers(page):
    """The what-if form varies the scenario it was made for: choosing another in the list reloads
    the form for it at once, so the two cannot differ (an audit ran the old one unawares)."""
    page.goto("/explore?scenario=demo")
    sync_api.expect(page.locator("form[method=post] p.meta")).to_contain_text("scenarios/demo.yaml")
    page.locator("#choose-scenario").select_option("demo_more")
    sync_api.expect(page.locator("form[method=post] p.meta")).to_contain_text("scenarios/demo_more.yaml")
    assert page.locator("form[method=post] input[name=scenario]").get_attribute("value") == "demo_more"


def test_run_a_scenario_and_read_its_report(page):
    page.goto("/scenarios/demo")
    page.locator("form[action='/run'] input[name=replications]").fill("2")
    page.get_by_role("button", name="Run", exact=True).click()
    sync_api.expect(page.locator("h1")).to_have_text("Run demo (2 replications)")
    _wait_done(page)
    page.get_by_role("link", name="Open results/demo").click()
    sync_api.expect(page.locator("h1")).to_have_text("results/demo")
    report = page.frame_locator("iframe.report")
    sync_api.expect(report.locator("h1").first).to_contain_text("demo")
    sync_api.expect(report.locator("img").first).to_be_visible()


def test_compare_two_scenarios(page):
    page.goto("/scenarios/demo_more")
    page.get_by_role("link", name="Compare…").click()
    sync_api.expect(page.locator("input[name=b][value=demo_more]")).to_be_checked()   # came from its page
    page.locator("select[name=a]").select_option("demo")
    page.locator("form.stack input[name=replications]").fill("2")
    page.get_by_role("button", name="Compare", exact=True).click()
    sync_api.expect(page.locator("h1")).to_have_text("Compare demo vs demo_more (2 replications)")
    _wait_done(page)
    page.get_by_role("link", name="Open results/compare-demo-vs-demo_more").click()
    report = page.frame_locator("iframe.report")
    sync_api.expect(report.locator("body")).to_contain_text("demo_more")
    sync_api.expect(report.locator("table").first).to_be_visible()


@pytest.mark.parametrize("width", [1280, 390])
def test_screenshot_at_desktop_and_phone_widths(browser, app_url, width, tmp_path):
    """The scenario page with a bad value: drawn, readable, and no wider than the screen."""
    context = _context(browser, app_url, width)
    try:
        page = context.new_page()
        page.goto("/scenarios/demo")
        _open_group(page, "services / ed_team")
        _field(page, WTE).fill("-2")
        page.get_by_role("button", name="Check").click()
        sync_api.expect(page.locator(".field.invalid .message")).to_be_visible()
        page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
        # nothing but the pathway's own scroll box may be wider than the screen
        overflow = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => !e.closest('.diagram') && e.getBoundingClientRect().right > innerWidth + 1)
            .map(e => e.tagName + '.' + e.className).slice(0, 5)""")
        assert overflow == [], f"wider than {width} px: {overflow}"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        box = page.locator(".field.invalid").bounding_box()
        assert box is not None and box["width"] <= width
        folder = Path(os.environ.get("ICSSIM_APP_SHOTS") or tmp_path)
        folder.mkdir(parents=True, exist_ok=True)
        shot = folder / f"app-error-{width}.png"
        page.locator(".field.invalid").scroll_into_view_if_needed()
        page.screenshot(path=str(shot))
    finally:
        context.close()
    import matplotlib.image as mpimg

    image = mpimg.imread(shot)
    assert image.shape[:2] == (900, width)
    assert image[..., :3].std() > 0.05, f"the {width} px screenshot is blank"


@pytest.mark.parametrize("path", ["/", "/compare?b=demo_more", "/explore?scenario=demo", "/psa", "/results"])
def test_every_form_fits_a_phone(browser, app_url, path):
    """At 390 px no page is wider than the screen (a long option in a list once made two of them 680 px)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, base_url=app_url)
    context.set_default_timeout(TIMEOUT)
    try:
        page = context.new_page()
        page.goto(path)
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => !e.closest('.table-scroll') && e.getBoundingClientRect().right > innerWidth + 1)
            .map(e => e.tagName + '.' + e.className).slice(0, 5)""")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, f"wider than 390 px: {wide}"
    finally:
        context.close()


def _no_wider_than(page, width: int) -> None:
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => !e.closest('.table-scroll') && e.getBoundingClientRect().right > innerWidth + 1)
        .map(e => e.tagName + '.' + e.className).slice(0, 5)""")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"wider than {width} px: {wide}"


def test_runs_are_listed_again_after_a_restart(browser, tmp_path):
    """Run a scenario, stop the app, start it again: the run is listed with its report, and a job the
    app was killed during (its record still says running) is shown as interrupted; at 1280 and 390 px."""
    root = _demo_folder(tmp_path / "work")
    with _serve(root) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=url)
        context.set_default_timeout(TIMEOUT)
        page = context.new_page()
        page.goto("/scenarios/demo")
        page.locator("form[action='/run'] input[name=replications]").fill("2")
        page.get_by_role("button", name="Run", exact=True).click()
        _wait_done(page)
        job = page.url.rsplit("/", 1)[-1]
        context.close()
    records = root / "results" / ".app" / "jobs"
    killed = {**json.loads((records / f"{job}.json").read_text()), "id": "0123456789ab", "state": "running",
              "done": 1, "total": 60, "folder": "", "finished": None, "title": "Run demo (60 replications)"}
    (records / "0123456789ab.json").write_text(json.dumps(killed))   # as a killed app leaves it
    shots = Path(os.environ.get("ICSSIM_APP_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with _serve(root) as url:
        for width in (1280, 390):
            context = _context(browser, url, width)
            page = context.new_page()
            page.goto("/")
            listed = page.locator("ul.jobs li")
            sync_api.expect(listed).to_have_count(2)
            sync_api.expect(listed.nth(0).locator(".state")).to_have_text("interrupted")
            sync_api.expect(listed.nth(1).locator(".state")).to_have_text("done")
            _no_wider_than(page, width)
            page.locator("ul.jobs").screenshot(path=str(shots / f"app-jobs-restart-{width}.png"))
            listed.nth(0).get_by_role("link").click()
            sync_api.expect(page.locator("#message")).to_contain_text("interrupted: the app stopped while this ran")
            sync_api.expect(page.locator("#job")).to_contain_text("1 of 60 replications")
            _no_wider_than(page, width)
            page.screenshot(path=str(shots / f"app-job-interrupted-{width}.png"))
            page.goto(f"/jobs/{job}")
            sync_api.expect(page.locator("#state")).to_have_text("done")
            page.get_by_role("link", name="Open results/demo").click()
            sync_api.expect(page.frame_locator("iframe.report").locator("h1").first).to_contain_text("demo")
            context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_give_a_psa_parameter_another_distribution(browser, app_url, width, tmp_path):
    """From the PSA page to a PSA file's distributions: a bad sd gets the command line's message beside
    its parameter, a good one is saved as a new PSA file that the PSA page then offers; no wider than
    the screen at 1280 and 390 px."""
    context = _context(browser, app_url, width)
    key = "services.ed_team.staff.clinician.cost_per_hour"
    try:
        page = context.new_page()
        page.goto("/psa")
        page.locator('a[href="/psa/demo_psa/edit"]').click()
        sync_api.expect(page.locator("h1")).to_have_text("demo_psa: the uncertain parameters")
        param = page.locator(f'fieldset[id="p-{key}"]')
        param.locator("select").select_option("beta")
        page.get_by_role("button", name="Check").click()
        message = page.locator(f'fieldset[id="p-{key}"] .message')
        sync_api.expect(message).to_contain_text(
            f"{key}.mean: a beta distribution (a probability or utility) needs a mean between 0 and 1, found 68")
        sync_api.expect(page.locator(".summary[role=alert]")).to_contain_text("1 problem(s)")
        _no_wider_than(page, width)
        shots = Path(os.environ.get("ICSSIM_APP_SHOTS") or tmp_path)
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"app-psa-edit-{width}.png"), full_page=True)
        page.locator(f'fieldset[id="p-{key}"] select').select_option("gamma")
        page.locator(f'fieldset[id="p-{key}"] input[name$=".sd"]').fill("14")
        page.locator("input[name=new_name]").fill(f"demo_psa_wide_{width}")
        page.get_by_role("button", name="Save as new PSA file").click()
        sync_api.expect(page.locator("p.ok[role=status]")).to_have_text(
            f"Saved as scenarios/sweeps/demo_psa_wide_{width}.yaml.")
        sync_api.expect(page.locator("select[name=sweep]")).to_have_value(f"demo_psa_wide_{width}")
    finally:
        context.close()


def test_the_psa_form_follows_the_file_chosen(browser, tmp_path):
    """Choosing another PSA file starts the form at that file's own draws and replications, without a
    reload (so Run runs the file itself); a file larger than the app starts at once starts at the most
    it allows, and the form says so."""
    from helpers import SCENARIOS

    root = _demo_folder(tmp_path)
    demo = (root / "scenarios" / "sweeps" / "demo_psa.yaml").read_text()
    for strategy in ("fragmented", "integrated"):   # short ED runs: a PSA needs a course of illness
        (root / "scenarios" / f"small_{strategy}.yaml").write_text(
            f"extends: {SCENARIOS / f'ed_{strategy}.yaml'}\nscenario:\n  name: small_{strategy}\n"
            "  horizon: 2 years\n  warmup: 1 year\n  population: 150000\nhealth:\n  follow_up: 2 years\n")
    (root / "scenarios" / "sweeps" / "pair_psa.yaml").write_text(
        "sweep: {name: pair_psa, replications: 2}\n"
        "base: {fragmented: ../small_fragmented.yaml, integrated: ../small_integrated.yaml}\n"
        "design: psa\nsamples: 30\nparameters:\n"
        "  health.states.ill_moderate.utility: {dist: beta, mean: 0.75, sd: 0.05}\n")
    (root / "scenarios" / "sweeps" / "wide_psa.yaml").write_text(
        demo.replace("name: demo_psa", "name: wide_psa, replications: 1").replace("samples: 50", "samples: 5000"))
    with _serve(root) as url:
        context = _context(browser, url, 1280)
        try:
            page = context.new_page()
            page.goto("/psa")
            pick, limit = page.locator("select[name=sweep]"), page.locator("#psa-limit")
            draws, reps = page.locator("input[name=draws]"), page.locator("input[name=replications]")
            sync_api.expect(pick).to_have_value("demo_psa")
            sync_api.expect(draws).to_have_value("50")
            sync_api.expect(reps).to_have_value("5")      # the schema's default, as `icssim psa` runs it
            sync_api.expect(limit).to_be_hidden()
            pick.select_option("pair_psa")
            sync_api.expect(draws).to_have_value("30")
            sync_api.expect(reps).to_have_value("2")
            pick.select_option("wide_psa")
            sync_api.expect(draws).to_have_value("1000")
            sync_api.expect(reps).to_have_value("1")
            sync_api.expect(limit).to_be_visible()
            sync_api.expect(limit).to_contain_text("own 5,000 draws")
            pick.select_option("pair_psa")
            sync_api.expect(limit).to_be_hidden()
            draws.fill("4")
            page.get_by_role("button", name="Run PSA").click()
            sync_api.expect(page.locator("h1")).to_have_text(   # the file's own replications: no _2_reps copy
                "PSA pair_psa_4_draws (4 draws x 2 strategies x 2 replication(s))")
            made = sorted(p.name for p in (root / "scenarios" / "sweeps").glob("*_draws*.yaml"))
            assert made == ["pair_psa_4_draws.yaml"], made
        finally:
            context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_send_a_branch_of_a_step_elsewhere(browser, app_url, width, tmp_path):
    """Where a step's branch goes is a choice of the pathway's steps: choose another, check it (the
    command line's checks) and save the new scenario, which extends the original."""
    context = _context(browser, app_url, width)
    target = "pathway.steps.gp.next.0.to"
    try:
        page = context.new_page()
        page.goto("/scenarios/demo")
        _open_group(page, "pathway / steps / gp")
        branch = page.locator(f'select[name="{target}"]')
        sync_api.expect(branch).to_have_value("assess")
        sync_api.expect(page.locator(f'label[for="f-{target}"]')).to_have_text("next › #1 › goes to")
        branch.select_option("watchful")
        page.get_by_role("button", name="Check").click()
        sync_api.expect(page.locator("p.ok[role=status]")).to_have_text(
            "1 value(s) changed; all checks pass. Give the new scenario a name and save it.")
        _no_wider_than(page, width)
        page.locator(f'select[name="{target}"]').scroll_into_view_if_needed()
        shots = Path(os.environ.get("ICSSIM_APP_SHOTS") or tmp_path)
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"app-route-{width}.png"))
        page.locator("input[name=new_name]").fill(f"demo_gp_watchful_{width}")
        page.get_by_role("button", name="Save as new scenario").click()
        sync_api.expect(page.locator("h1")).to_have_text(f"demo_gp_watchful_{width}")
        sync_api.expect(page.locator("p.ok[role=status]")).to_contain_text("(extends demo.yaml)")
        _open_group(page, "pathway / steps / gp")
        sync_api.expect(page.locator(f'select[name="{target}"]')).to_have_value("watchful")
    finally:
        context.close()
