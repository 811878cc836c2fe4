"""A sweep's report leads with its answer in words, under the sweep file's labels (issue 23)."""

from __future__ import annotations

import re

from icssim.cli import main

WTE = "services.desk.staff.server.wte"


def test_optimise_answer_leads_the_sweep_report(make_sweep, tmp_path, capsys):
    path = make_sweep({"sweep": {"name": "desk", "seed": 5, "replications": 3},
                       "parameters": {WTE: {"values": [11, 12, 13, 14], "label": "Desk staff"}},
                       "kpis": ["within_quick", "utilisation_desk/server"]}, horizon=600)
    out = tmp_path / "out"
    code = main(["optimise", str(path), "--out", str(out), "--target", "within_quick >= 0.85",
                 "--minimise", WTE, "-q"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    # the console: labels and percentages, never key paths or 0.894
    assert "Answer: the lowest Desk staff that meets" in printed and "at least 85%" in printed
    assert re.search(r"point \d: Desk staff 1[234]\n", printed)
    assert not re.search(r"\b0\.\d{3}\b", printed)
    html = (out / "report.html").read_text()
    summary = html.split('<section id="summary">')[1].split("</section>")[0]
    assert html.index('<section id="summary">') < html.index('<section id="plots">')
    assert "<strong>Answer:</strong>" in summary and "<strong>Desk staff 1" in summary
    assert re.search(r"is \d+% \(95% CI \d+% to \d+%\), from 3 replications", summary)
    assert "points meet the target" in summary
    if "undecided:" in summary.lower():   # undecided points come with what to do about them
        assert "--max-replications" in summary
    # labels, not key paths, where a user reads; the key path once, where the sweep file is described
    assert WTE not in summary
    points = html.split('<section id="points">')[1].split("</section>")[0]
    assert "<th scope=\"col\">Desk staff</th>" in points and WTE not in points
    assert "Utilisation of desk: servers" in html


def test_sweep_report_without_optimise_states_ranges_and_what_moves_them(make_sweep, tmp_path, capsys):
    path = make_sweep({"parameters": {WTE: {"values": [11, 13], "label": "Desk staff"}},
                       "kpis": ["within_quick"]})
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    summary = (out / "report.html").read_text().split('<section id="summary">')[1].split("</section>")[0]
    assert re.search(r"from \d+% \(Desk staff 1[13]\) to \d+% \(Desk staff 1[13]\)", summary)
    assert "Desk staff moves it most" in summary


def test_points_whose_waiting_list_keeps_rising_are_named(make_sweep, tmp_path, capsys):
    """7 servers for 9 arrivals an hour of an hour each cannot keep up: the queue grows by about 2
    an hour through the window. The console and the report name that point, not the one with 12
    (utilisation 75%), and points.csv holds waiting_lists_rising whatever the sweep file's kpis."""
    path = make_sweep({"parameters": {WTE: {"values": [7, 12], "label": "Desk staff"}},
                       "kpis": ["within_quick"]}, horizon=600)
    base = tmp_path / "mmc_small.yaml"   # sampled every 10 hours, not weekly: 50 samples in the window
    base.write_text(base.read_text().replace("  warmup: 100\n", "  warmup: 100\n  sample_every: 10\n"))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "Not in a steady state: 1 of 2 points (Desk staff 7)." in printed
    summary = (out / "report.html").read_text().split('<section id="summary">')[1].split("</section>")[0]
    assert "Not in a steady state: 1 of 2 points (Desk staff 7)." in summary
    points = (out / "points.csv").read_text().splitlines()
    header = points[0].split(",")
    rising = header.index("waiting_lists_rising")
    assert [float(row.split(",")[rising]) for row in points[1:]] == [1.0, 0.0]


def test_a_sweep_where_no_point_meets_the_standard_says_so(make_sweep, tmp_path, capsys):
    """A sweep whose every point falls short of its standard's target said only the range of the
    share; it now says plainly that no point meets it, and which point comes closest."""
    path = make_sweep({"parameters": {WTE: {"values": [10, 11], "label": "Desk staff"}},
                       "kpis": ["within_quick"]})
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    summary = (out / "report.html").read_text().split('<section id="summary">')[1].split("</section>")[0]
    assert "<strong>No point meets the standard</strong>" in summary
    assert "(target: at least 90%): none of the 2 points reaches its target" in summary
    assert re.search(r"The closest is \d+% \(95% CI \d+% to \d+%\) at Desk staff 11", summary)


def test_a_sweep_says_how_many_points_meet_the_standard(make_sweep, tmp_path, capsys):
    path = make_sweep({"parameters": {WTE: {"values": [11, 16], "label": "Desk staff"}},
                       "kpis": ["within_quick"]})
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    summary = (out / "report.html").read_text().split('<section id="summary">')[1].split("</section>")[0]
    assert "No point meets" not in summary
    assert re.search(r"\(target: at least 90%\): met at 1 of 2 points on their mean, [01] of them on the lower end",
                     summary)
