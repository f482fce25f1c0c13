"""The Compare page's "Is it as sure as it is right?": one run's reliability diagram on an evaluation set, before
and after its temperature, with the expected calibration error of each and how often its surest answers were right.

Not a page. A thin view over `lab.evaluation.calibration`: the data comes ready-made from the cached evaluation
views (`app_pages.evaluation_views.views`), so nothing here reads a file or runs a model.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app_pages.charts import reliability_figure
from lab.evaluation.calibration import surest_sentence

ECE_HELP = ("Expected calibration error: the answers grouped by how sure they were (ten bins), and the gap between "
            "how sure and how often right in each, weighted by its photos. 0 is perfect; 0.05 means answers were "
            "off by 5 points of confidence on average.")
FITTED_ON = ("The temperature was fitted on these validation photos, so 'after' flatters it here; the test photos "
             "are the honest check.")


def calibration_section(found: dict[str, Any], run_id: str, evaluation: str) -> None:
    """The reliability diagram of `found` (`calibration_views`), its ECE before and after, and the surest bin."""
    st.markdown("**Is it as sure as it is right?**")
    before, after = found["before"], found["after"]
    st.plotly_chart(reliability_figure(before["bins"], after["bins"] if after else None), key=f"reliability_{run_id}")
    ece = f"Expected calibration error {before['ece']:.3f}" + (f", {after['ece']:.3f} after temperature scaling"
                                                                if after else "")
    st.caption(f"{ece}. Confidence {found['words']}.", help=ECE_HELP)
    surest = surest_sentence((after or before)["bins"])
    if surest:
        st.caption(surest + (" after scaling." if after else "."))
    if after and evaluation == "validation":
        st.caption(FITTED_ON)
