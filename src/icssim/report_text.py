"""The report's words, under their old name: the numbers are in :mod:`icssim.report.numbers`, the
findings of a run in :mod:`icssim.report.run_text`, comparisons in
:mod:`icssim.report.compare_text` and the model in STRESS-DES terms in
:mod:`icssim.report.model_text`. Kept for :mod:`icssim.report.compare`, which imports from here."""

from __future__ import annotations

from icssim.report.compare_text import (
    COST_KPIS,
    PATIENT_KPIS,
    compare_headline,
    difference_sentence,
    difference_verdict,
)
from icssim.report.numbers import Estimate, diff_ci_text, diff_ci_words, fmt, fmt_diff
from icssim.report.run_text import run_findings, standard_label

__all__ = ["COST_KPIS", "PATIENT_KPIS", "Estimate", "compare_headline", "diff_ci_text", "diff_ci_words",
           "difference_sentence", "difference_verdict", "fmt", "fmt_diff", "run_findings", "standard_label"]
