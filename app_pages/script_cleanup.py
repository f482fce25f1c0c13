"""Streamlit's clean-up after each script run, minus the Keras reset that costs every run a few tenths of a second.

After every run (a page, a fragment, each sidebar poll) Streamlit calls `keras.backend.clear_session()` when
Keras is imported: a habit from TensorFlow 1's graph sessions. In Keras 3 that resets Keras's global name
counters, empties TensorFlow's kernel cache and runs a full garbage collection: 0.2 s alone in a bare
interpreter, more with the app's modules loaded, all of it holding Python's lock, so the browser's requests for
the images the run just drew wait behind it. The lab keeps no graph-mode state between runs (training runs in
worker processes; pages keep their built models in `st.cache_resource`), so the reset buys it nothing.

`runner.postScriptGC = false` in `.streamlit/config.toml` drops Streamlit's own full collection after each run
for the same reason; Python's generational collector still runs as usual.
"""

from __future__ import annotations

import logging
import sys

from streamlit.runtime.scriptrunner import script_runner

log = logging.getLogger(__name__)


def clean_up_without_keras_reset() -> None:
    """What Streamlit's `_clean_problem_modules` does, without `keras.backend.clear_session()`."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


def keep_keras_state() -> None:
    """Replace Streamlit's clean-up between runs; where a Streamlit release moved it, say so and change nothing."""
    if not hasattr(script_runner, "_clean_problem_modules"):
        log.warning("This Streamlit has no _clean_problem_modules: Keras may be reset after every script run.")
        return
    script_runner._clean_problem_modules = clean_up_without_keras_reset
