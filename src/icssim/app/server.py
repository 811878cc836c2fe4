"""The app's pages: a Starlette application rendering Jinja2 templates on the server.

Pages are plain HTML forms (they work without JavaScript; a few lines of it only refresh a
running job's progress). Every request is checked before it is served: its Host must be this
machine (no DNS rebinding) and a form posted from another site's page is refused (its Origin
must be this app), so a web page open in the same browser cannot drive the app.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from icssim.app.jobs import MAX_REPLICATIONS, Jobs
from icssim.app.workspace import NAME, Workspace, extends_of
from icssim.errors import IcssimError, ScenarioError

HERE = Path(__file__).parent
#: Hosts the app answers to: this machine only (and Starlette's test client).
LOCAL_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
#: Largest form accepted, in bytes (a scenario's form is a few KB).
MAX_BODY = 1_000_000


def create_app(root: Path | str = ".", workers: int | None = None, hosts: list[str] | None = None) -> Starlette:
    """The app for the working directory ``root`` (its ``scenarios/`` and ``results/``)."""
    ws = Workspace(root)
    jobs = Jobs(ws.results, workers)
    jobs.restore()   # the jobs of earlier sessions, from their records and results folders
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["max_replications"] = MAX_REPLICATIONS
    templates.env.filters["when"] = _when
    svg_cache: dict[tuple[str, float], bytes] = {}
    svg_lock = threading.Lock()
    allowed = hosts or LOCAL_HOSTS

    def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
        context.setdefault("scenarios", ws.scenario_names())
        context.setdefault("jobs", jobs.all()[:5])
        return templates.TemplateResponse(request, template, context, status_code=status)

    def refused(request: Request, exc: Exception, status: int = 400) -> Response:
        return page(request, "error.html", status, message=str(exc))

    async def form_pairs(request: Request) -> list[tuple[str, str]]:
        """The posted form (application/x-www-form-urlencoded) as (name, value) pairs in order, a name
        repeated for each box ticked; refused if it comes from another site."""
        origin = request.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
            raise PermissionError(f"a form from {origin} may not drive this app: only its own pages may")
        body = await request.body()
        if len(body) > MAX_BODY:
            raise IcssimError("the form is too large")
        return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)

    async def form(request: Request) -> dict[str, str]:
        """The posted form, one value per name (the last)."""
        return dict(await form_pairs(request))

    async def form_or_refusal(request: Request) -> tuple[dict[str, str], Response | None]:
        """The posted form, or (when it cannot be read: another site's, too large) the page refusing it."""
        try:
            return await form(request), None
        except PermissionError as exc:
            return {}, refused(request, exc, 403)
        except IcssimError as exc:
            return {}, refused(request, exc)

    # ------------------------------------------------------------------ pages
    async def home(request: Request) -> Response:
        folders = await run_in_threadpool(ws.result_folders)
        return page(request, "home.html", folders=folders[:12], root=str(ws.root))

    async def scenario_page(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            scenario = await run_in_threadpool(ws.load, name)
        except ScenarioError as exc:
            return page(request, "error.html", 422, message=f"scenarios/{name}.yaml cannot be used:",
                        problems=[str(p) for p in exc.problems])
        except IcssimError as exc:
            return refused(request, exc, 404)
        if request.method == "GET":
            return edit_page(request, name, scenario, checked=scenario)
        values, refusal = await form_or_refusal(request)
        if refusal is not None:
            return refusal
        action = values.pop("action", "check")
        new_name = values.pop("new_name", "").strip()
        raw, edited, inline, other = await run_in_threadpool(ws.edit, scenario, values, ws.scenario_path(name))
        if edited is None:
            return edit_page(request, name, scenario, values, inline, other, new_name=new_name, status=422)
        changed = [k for k, v in values.items() if _changed(ws, scenario, k, v)]
        if action == "save":
            from icssim.scenario import provenance

            try:
                target = await run_in_threadpool(ws.save, name, new_name, provenance(scenario).raw, raw,
                                                 ws.fields(scenario))
            except ScenarioError as exc:
                return edit_page(request, name, scenario, values, {}, [str(p) for p in exc.problems],
                                 new_name=new_name, status=422)
            except IcssimError as exc:
                return edit_page(request, name, scenario, values, {}, [], new_name=new_name, status=422,
                                 name_error=str(exc))
            return RedirectResponse(f"/scenarios/{quote(target.stem)}?saved=1", status_code=303)
        note = (f"{len(changed)} value(s) changed; all checks pass. Give the new scenario a name and save it."
                if changed else "No value changed; all checks pass.")
        return edit_page(request, name, scenario, values, {}, [], new_name=new_name, note=note, checked=edited)

    def edit_page(request: Request, name: str, scenario, values: dict[str, str] | None = None,
                  inline: dict[str, list[str]] | None = None, other: list[str] | None = None,
                  new_name: str = "", status: int = 200, note: str = "", name_error: str = "",
                  checked=None) -> Response:
        """The scenario's form; with ``checked`` (the scenario as checked), its plausibility warnings."""
        fields = ws.fields(scenario)
        warned, warned_other = ws.warnings(checked, fields) if checked is not None else ({}, [])
        groups: dict[str, list] = {}
        for f in fields:
            groups.setdefault(f.group, []).append(f)
        values = values or {}
        inline = inline or {}
        extends = extends_of(ws.scenario_path(name))
        return page(request, "scenario.html", status, name=name, scenario=scenario, groups=groups, values=values,
                    inline=inline, other=other or [], new_name=new_name, note=note, name_error=name_error,
                    n_errors=sum(len(v) for v in inline.values()) + len(other or []) + bool(name_error),
                    saved=request.query_params.get("saved") == "1", extends=extends, warned=warned,
                    warned_other=warned_other,
                    open_groups={f.group for f in fields if f.key in inline or f.key in warned or
                                 (f.key in values and values[f.key].strip() != f.text)})

    async def pathway_svg(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            path = ws.scenario_path(name)
        except IcssimError as exc:
            return PlainTextResponse(str(exc), 404)
        key = (str(path), path.stat().st_mtime)

        def draw() -> bytes:
            with svg_lock:
                if key not in svg_cache:
                    svg_cache[key] = pathway_svg_bytes(ws.load(name))
                return svg_cache[key]

        try:
            svg = await run_in_threadpool(draw)
        except ScenarioError as exc:
            return PlainTextResponse(str(exc), 422)
        return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-cache"})

    async def start_run(request: Request) -> Response:
        try:
            values = await form(request)
            name = values.get("scenario", "")
            n = _whole(values.get("replications", ""))
            scenario = await run_in_threadpool(ws.load, name)
            job = jobs.run(scenario, n, f"scenarios/{name}.yaml")
        except PermissionError as exc:
            return refused(request, exc, 403)
        except IcssimError as exc:
            return refused(request, exc)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    async def compare_page(request: Request) -> Response:
        if request.method == "GET":
            return page(request, "compare.html", a=request.query_params.get("a", ""),
                        b=request.query_params.getlist("b"))
        a, others, values = "", [], {}
        try:
            pairs = await form_pairs(request)
            values = dict(pairs)
            a = values.get("a", "")
            others = [v for k, v in pairs if k == "b"]
            names = [a, *[x for x in others if x != a]]
            n = _whole(values.get("replications", ""))
            if len(names) < 2:
                raise IcssimError("pick a baseline and at least one other scenario to compare with it")
            if len(set(names)) != len(names):
                raise IcssimError("each scenario may be ticked once")
            scenarios = [await run_in_threadpool(ws.load, x) for x in names]
            job = await run_in_threadpool(jobs.compare, scenarios, n, [f"scenarios/{x}.yaml" for x in names],
                                          values.get("equal_budget") == "1")
        except PermissionError as exc:
            return refused(request, exc, 403)
        except IcssimError as exc:   # the form as it was sent, with the message
            return page(request, "compare.html", 422, a=a, b=others, error=str(exc),
                        replications=values.get("replications", ""), equal_budget=values.get("equal_budget") == "1")
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    async def explore_page(request: Request) -> Response:
        name = request.query_params.get("scenario") or (request.method == "GET" and "") or ""
        values: dict[str, str] = {}
        if request.method == "POST":
            try:
                values = await form(request)
            except PermissionError as exc:
                return refused(request, exc, 403)
            name = values.get("scenario", "")
        fields, measures, error = [], [], ""
        if name:
            from icssim.app.whatif import measures as measures_of

            try:
                scenario = await run_in_threadpool(ws.load, name)
            except IcssimError as exc:
                return refused(request, exc, 404)
            fields, measures = ws.numbers(scenario), measures_of(scenario)
        if request.method == "POST":
            try:
                job = await run_in_threadpool(start_whatif, name, values)
                return RedirectResponse(f"/jobs/{job.id}", status_code=303)
            except IcssimError as exc:
                error = str(exc)
        return page(request, "explore.html", 422 if error else 200, name=name, fields=fields, values=values,
                    measures=measures, error=error)

    def start_whatif(name: str, values: dict[str, str]):
        """Check the what-if's form (every value validated as the command line would) and start it."""
        from icssim.app.whatif import MAX_POINTS, MAX_VALUES, Point, measures

        scenario = ws.load(name)
        numbers = {f.key: f for f in ws.numbers(scenario)}
        known = set(numbers)
        measure = values.get("kpi", "").strip() or None
        drawn = dict(measures(scenario))
        if measure is not None and measure not in drawn:
            raise IcssimError(f"{measure!r} is not a measure a what-if of scenarios/{name}.yaml draws: choose one "
                              f"of {', '.join(drawn)}")
        keys, lists = [], []
        for suffix in ("", "2"):
            key = values.get("key" + suffix, "").strip()
            if suffix and not key:
                break
            texts = list(dict.fromkeys(t.strip() for t in values.get("values" + suffix, "").split(",") if t.strip()))
            if key not in known:
                raise IcssimError(f"{key!r} is not a number of scenarios/{name}.yaml")
            if not 2 <= len(texts) <= MAX_VALUES:
                raise IcssimError(f"{key}: give 2 to {MAX_VALUES} different values separated by commas, "
                                  f"found {len(texts)}")
            keys.append(key)
            lists.append(texts)
        if len(keys) == 2 and keys[0] == keys[1]:
            raise IcssimError("the second number must differ from the first")
        combos = list(itertools.product(*lists))
        if len(combos) > MAX_POINTS:
            raise IcssimError(f"{len(combos)} combinations is more than {MAX_POINTS}: give fewer values")
        words = {k: f"{numbers[k].group} › {numbers[k].label}" for k in keys}   # as on the scenario's page
        points = []
        for combo in combos:
            raw, edited, inline, other = ws.edit(scenario, dict(zip(keys, combo)), ws.scenario_path(name))
            if edited is None:
                # each number by its words on the scenario's page, its message once (not "<key>: <key>: ...")
                where = ", ".join(f"{words[k]} = {v}" for k, v in zip(keys, combo))
                said = [m.removeprefix(f"{k}: ") for k, ms in inline.items() for m in ms]
                raise IcssimError(f"{where}: " + "; ".join([*said, *other]))
            points.append(Point(tuple(combo), edited, raw))
        return jobs.whatif(name, keys, points, _whole(values.get("replications", "")), measure, words)

    async def psa_page(request: Request) -> Response:
        """The PSA sweep files; start one (with fewer draws if asked) as ``icssim psa`` would."""
        from icssim.app.psa import MAX_DRAWS, form_start, psa_files, sweep_file_for

        files = await run_in_threadpool(psa_files, ws.sweeps)
        values: dict[str, str] = dict(request.query_params)
        error = ""
        if request.method == "POST":
            try:
                values = await form(request)
                name = values.get("sweep", "")
                if not NAME.match(name):
                    raise IcssimError(f"{name!r} is not a sweep file's name")
                draws = _whole(values.get("draws", ""), "draws")
                reps = _whole(values.get("replications", ""), "replications per draw")
                path = await run_in_threadpool(sweep_file_for, ws.sweeps, name, draws, reps)
                job = await run_in_threadpool(jobs.psa, path, f"scenarios/sweeps/{path.name}")
                return RedirectResponse(f"/jobs/{job.id}", status_code=303)
            except PermissionError as exc:
                return refused(request, exc, 403)
            except ScenarioError as exc:
                error = "; ".join(str(p) for p in exc.problems)
            except IcssimError as exc:
                error = str(exc)
        return page(request, "psa.html", 422 if error else 200, files=files, values=values, error=error,
                    max_draws=MAX_DRAWS, starts={f.name: form_start(f) for f in files})

    async def psa_edit_page(request: Request) -> Response:
        """A PSA file's parameters and their distributions in a form: checked as ``icssim psa`` checks
        the file, saved as a new sweep file beside it."""
        from icssim.app.psa import psa_table
        from icssim.app.psa_edit import DISTRIBUTIONS, check_new_name, edit_psa, psa_rows, rows_from_form, write_new

        name = request.path_params["name"]
        try:
            rows, table = await run_in_threadpool(lambda: (psa_rows(ws.sweeps, name), psa_table(ws.sweeps, name)))
        except IcssimError as exc:
            return refused(request, exc, 404)
        context: dict[str, Any] = {"name": name, "distributions": DISTRIBUTIONS, "inline": {}, "other": [],
                                   "new_name": "", "note": "", "name_error": "", "changes": [], "table": table}
        if request.method == "GET":
            return page(request, "psa_edit.html", rows=rows, **context)
        values, refusal = await form_or_refusal(request)
        if refusal is not None:
            return refusal
        rows = rows_from_form(values, min(_whole(values.get("rows", "0") or "0", "rows"), 200))
        context["new_name"] = new_name = values.get("new_name", "").strip()
        target = None
        if values.get("action") == "save":
            try:
                target = check_new_name(ws.sweeps, new_name)
            except IcssimError as exc:
                context["name_error"] = str(exc)
        text, inline, other = await run_in_threadpool(edit_psa, ws.sweeps, name, rows, new_name if target else "")
        context["changes"] = [line[4:] for line in text.splitlines()[1:] if line.startswith("#   ")]
        if inline or other or context["name_error"]:
            return page(request, "psa_edit.html", 422, rows=rows, **{**context, "inline": inline, "other": other})
        if target is not None:
            try:
                await run_in_threadpool(write_new, target, text)
            except IcssimError as exc:
                return page(request, "psa_edit.html", 422, rows=rows, **{**context, "name_error": str(exc)})
            return RedirectResponse(f"/psa?sweep={quote(target.stem)}&saved=1", status_code=303)
        n = len(context["changes"])
        context["note"] = (f"{n} change(s); all checks pass. Give the new PSA file a name and save it."
                           if n else "Nothing changed; all checks pass.")
        return page(request, "psa_edit.html", rows=rows, **context)

    async def job_page(request: Request) -> Response:
        job = jobs.get(request.path_params["id"])
        if job is None:
            return refused(request, IcssimError("no such run (no record of it in results/.app/jobs/)"), 404)
        return page(request, "job.html", job=job)

    async def job_json(request: Request) -> Response:
        job = jobs.get(request.path_params["id"])
        if job is None:
            return JSONResponse({"error": "no such run"}, 404)
        return JSONResponse({"state": job.state, "done": job.done, "total": job.total, "percent": job.percent,
                             "message": job.message, "folder": job.folder, "seconds": round(job.seconds, 1)})

    async def job_cancel(request: Request) -> Response:
        try:
            await form(request)
        except PermissionError as exc:
            return refused(request, exc, 403)
        job = jobs.get(request.path_params["id"])
        if job is None:
            return refused(request, IcssimError("no such run"), 404)
        job.cancel.set()
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    async def results_page(request: Request) -> Response:
        from icssim.app.psa import psa_answer
        from icssim.app.whatif import whatif_note

        rel = request.path_params.get("path", "")
        try:
            path = ws.result_path(rel)
        except IcssimError as exc:
            return refused(request, exc, 403)
        if path == ws.results:
            return page(request, "results.html", folders=await run_in_threadpool(ws.result_folders))
        if path.is_file():
            return FileResponse(path, headers={"X-Content-Type-Options": "nosniff"})
        if not path.is_dir():
            return refused(request, IcssimError(f"results/{rel} does not exist"), 404)
        files = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir() if not p.name.startswith("."))
        rel = str(path.relative_to(ws.results))
        return page(request, "folder.html", rel=rel, files=files, report=(path / "report.html").is_file(),
                    whatif=whatif_note(path), psa=await run_in_threadpool(psa_answer, path))

    routes = [
        Route("/", home),
        Route("/scenarios/{name}", scenario_page, methods=["GET", "POST"]),
        Route("/scenarios/{name}/pathway.svg", pathway_svg),
        Route("/run", start_run, methods=["POST"]),
        Route("/compare", compare_page, methods=["GET", "POST"]),
        Route("/explore", explore_page, methods=["GET", "POST"]),
        Route("/psa", psa_page, methods=["GET", "POST"]),
        Route("/psa/{name}/edit", psa_edit_page, methods=["GET", "POST"]),
        Route("/jobs/{id}", job_page),
        Route("/jobs/{id}/status", job_json),
        Route("/jobs/{id}/cancel", job_cancel, methods=["POST"]),
        Route("/results", results_page),
        Route("/results/{path:path}", results_page),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    def read_all() -> None:
        """Read the scenarios and the PSA files once while the server starts, so that a first visit
        answers as quickly as the next, and start the jobs' fork server."""
        from icssim.app.psa import psa_files

        ws.read_all()
        psa_files(ws.sweeps)
        jobs.warm()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        threading.Thread(target=read_all, name="icssim-app-read", daemon=True).start()
        yield

    app = Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed)],
                    lifespan=lifespan)
    app.state.workspace = ws
    app.state.jobs = jobs
    return app


def _when(timestamp: float) -> str:
    """A job's time for its page: the date and minute, in this machine's time zone."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def _whole(text: str, what: str = "replications") -> int:
    try:
        return int(str(text).strip())
    except ValueError:
        raise IcssimError(f"{what} must be a whole number, found {text!r}") from None


def _changed(ws: Workspace, scenario, key: str, text: str) -> bool:
    for f in ws.fields(scenario):
        if f.key == key:
            return text.strip() != f.text
    return False


def pathway_svg_bytes(scenario) -> bytes:
    """The scenario's pathway drawn as the run report draws it (:mod:`icssim.diagram`), as SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from icssim import diagram, pathway_graph

    fig = diagram.draw_pathway(scenario, pathway_graph.merge_deterioration(pathway_graph.pathway_edges(scenario)))
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "icssim", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return buf.getvalue()
