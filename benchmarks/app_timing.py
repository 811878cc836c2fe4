"""How quickly ``icssim app`` starts and answers, and whether a run from it is slower than the CLI.

Works in a copy of this repository's scenarios/ in a temporary folder. Starts ``icssim app
--no-browser`` and times the first answer; then asks each page ten times (a new connection
each time, once the app has read its files) and prints the median and the largest wait; then
runs ``ed_integrated`` with ``-n REPS -w 2`` from the app (asking its status page and the home
page every 0.1 s meanwhile, and timing each answer) and from ``icssim run``, alternately, ROUNDS
times, and the CPU time the server's own process spent during each of its runs (on Linux: its
threads included, its child processes not), the work that competes with answering pages for the
interpreter lock. Figures in docs/app.md (Performance). To time another version of icssim, put its ``src``
first on ``PYTHONPATH`` (the app and the CLI are started as ``python -m icssim``).

    python benchmarks/app_timing.py [--reps 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("/", "/scenarios/ed_integrated", "/compare", "/explore", "/explore?scenario=ed_integrated", "/psa",
         "/psa/ed_psa/edit", "/results")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float | None:
    """User and system CPU time of process ``pid`` (all its threads), from /proc; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=12.0, help="seconds to let the app read its files")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="icssim-app-timing-"))
    shutil.copytree(ROOT / "scenarios", work / "scenarios")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    icssim = [sys.executable, "-m", "icssim"]
    app = subprocess.Popen([*icssim, "app", "--no-browser", "--port", str(port), "-w", "2"], cwd=work,
                           stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                if httpx.get(url + "/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.02)
        print(f"start: the first page answered {time.perf_counter() - started:.2f} s after launch")
        time.sleep(args.settle)
        client = httpx.Client(base_url=url, timeout=600, headers={"Connection": "close"})
        for page in PAGES:
            waits = []
            for _ in range(10):
                t = time.perf_counter()
                assert client.get(page).status_code == 200, page
                waits.append(1000 * (time.perf_counter() - t))
            print(f"page {page:34s} median {statistics.median(waits):6.1f} ms, max {max(waits):6.1f} ms")
        for i in range(args.rounds):
            cpu = _cpu_seconds(app.pid)
            t = time.perf_counter()
            job = client.post("/run", data={"scenario": "ed_integrated", "replications": str(args.reps)},
                              headers={"Origin": url}, follow_redirects=False).headers["location"]
            polls: dict[str, list[float]] = {"status": [], "home": []}
            while True:   # the status page, as the job's page asks it, and the home page, while the run goes on
                asked = time.perf_counter()
                status = client.get(job + "/status").json()
                polls["status"].append(1000 * (time.perf_counter() - asked))
                if status["state"] != "running":
                    break
                asked = time.perf_counter()
                assert client.get("/").status_code == 200
                polls["home"].append(1000 * (time.perf_counter() - asked))
                time.sleep(0.1)
            in_app = time.perf_counter() - t
            if cpu is not None:
                print(f"round {i}: the server's process used {_cpu_seconds(app.pid) - cpu:.2f} s of CPU during "
                      f"the run (answering {sum(len(w) for w in polls.values())} requests included)")
            for name, waits in polls.items():
                print(f"round {i}: {name} page during the app's run: median {statistics.median(waits):.1f} ms, "
                      f"max {max(waits):.0f} ms over {len(waits)} requests; over 200 ms: "
                      f"{sum(w > 200 for w in waits)}")
            t = time.perf_counter()
            out = subprocess.run([*icssim, "run", "scenarios/ed_integrated.yaml", "-n", str(args.reps), "-w", "2",
                                  "--out", f"results/cli_{i}", "-q"], cwd=work, capture_output=True, text=True).stdout
            by_cli = time.perf_counter() - t
            own = re.search(r"simulation ([\d.]+) s, total ([\d.]+) s", out)
            print(f"round {i}: app {in_app:.1f} s request to folder ({status['message']}); cli {by_cli:.1f} s wall"
                  + (f" (simulation {own.group(1)} s, total {own.group(2)} s)" if own else ""))
    finally:
        app.terminate()
        app.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
