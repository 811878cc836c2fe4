"""Optional R simmer runs of W1/W2 for benchmarks/run.py.

simmer (the R discrete-event simulator) is not a Python package, so each run is an
``Rscript benchmarks/simmer_models.R`` subprocess. The benchmark uses it only when
``simmer_available()`` finds R with simmer installed; otherwise it skips the engine.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

SCRIPT = Path(__file__).with_name("simmer_models.R")


@functools.cache
def simmer_available() -> str | None:
    """Return the installed simmer version, or None if Rscript or simmer is missing.

    Never raises: a machine without R simply has no simmer column in the benchmark. Asked once
    per process (it starts R).
    """
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    try:
        out = subprocess.run(
            [rscript, "-e", 'suppressPackageStartupMessages(library(simmer)); cat(as.character(packageVersion("simmer")))'],
            capture_output=True, text=True, timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    version = out.stdout.strip()
    return version if out.returncode == 0 and version else None


def run_simmer(workload: str, horizon: float, seed: int, warmup: float) -> dict:
    """Run one simmer replication of ``workload`` ("w1"/"w2") in a fresh Rscript process.

    Returns the script's JSON (engine, version, workload, seed, sim_seconds, arrivals,
    node_waits, vmhwm_mb) plus ``process_seconds``, the subprocess wall time including R
    start-up and package loading, and two peak-RSS figures for the R process:

    * ``ru_maxrss_mb``: ``ru_maxrss`` of that child from ``os.wait4``. On Linux it is not
      reset at exec: it is at least the parent's RSS at the fork (a 700 MB parent gave
      713 MB for a 104 MB R run), so it is only right when this process is small.
    * ``rss_mb``: the R process's own ``VmHWM`` (read from /proc/self/status at its end),
      which starts afresh at exec. This is the figure to compare with the other engines'.
    """
    cmd = ["Rscript", str(SCRIPT), workload, repr(float(horizon)), str(int(seed)), repr(float(warmup))]
    with tempfile.TemporaryFile() as err:  # a file, so a chatty stderr cannot block the pipe
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
        stdout = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        process_seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so tell Popen
        proc.stdout.close()
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"simmer {workload} seed {seed} failed ({proc.returncode}): "
                               f"{err.read().decode()[-2000:]}")
    lines = [line for line in stdout.decode().splitlines() if line.startswith("{")]
    result = json.loads(lines[-1])
    result["ru_maxrss_mb"] = usage.ru_maxrss / 1024  # Linux: kilobytes
    result["rss_mb"] = result["vmhwm_mb"]
    result["process_seconds"] = process_seconds
    return result


if __name__ == "__main__":
    print("simmer", simmer_available())
    print(run_simmer("w1", 22222.222, 1, 500))
    print(run_simmer("w2", 40000, 1, 2000))
