"""Transfer Lab: the model and data logic behind the Streamlit pages and the `python -m lab` CLI.

Importing `lab` switches on oneDNN before anything can import TensorFlow: it is off by default on
AMD CPUs and gives 1.3x-2.6x on the 2-core machines this lab is developed on. TensorFlow itself is
imported lazily by the modules that need it, so pages and the CLI start fast.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from lab.errors import LabError  # noqa: E402

__all__ = ["LabError"]
__version__ = "0.1.0"
