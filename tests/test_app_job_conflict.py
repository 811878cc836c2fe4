"""A job whose results folder another process published meanwhile ends done, naming where its
results were kept (``app/job_process.job_main``)."""

from __future__ import annotations

import multiprocessing
import signal
from pathlib import Path

from icssim.app.job_process import job_main
from icssim.output_folder import OutputConflict


def _taken(progress, folder: Path) -> None:
    raise OutputConflict(f"{folder} appeared while this run was writing; kept in {folder}-2/",
                         folder.with_name(folder.name + "-2"))


def test_a_job_whose_folder_was_taken_is_done_and_names_the_kept_folder(tmp_path):
    events_in, events_out = multiprocessing.Pipe(duplex=False)
    cancel_in, cancel_out = multiprocessing.Pipe(duplex=False)
    before = signal.getsignal(signal.SIGINT)
    try:
        job_main(_taken, (tmp_path / "run in my folder",), events_out, cancel_in)
    finally:
        signal.signal(signal.SIGINT, before)
    messages = []
    while events_in.poll(1):
        try:
            messages.append(events_in.recv())
        except EOFError:
            break
    cancel_out.close()
    ends = [m[1] for m in messages if m[0] == "set" and "state" in m[1]]
    assert ends == [{"state": "done", "message": ends[0]["message"], "folder": "run in my folder-2"}]
