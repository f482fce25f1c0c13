"""Training: what one run is and how it trains.

Owns the validated training config, the tutorials' presets and their published figures, the rules for
editing a config in a form and the preflight check of its data and weights, the backbone registry (data),
the factory that builds a backbone and where each backbone's weights come from, the heads and strategies,
the on-disk feature cache, the training story itself, what a run writes while it trains, and the cost
estimate (with the speeds measured on this machine, kept in the workspace). Devices (CPU, GPUs, mixed
precision) are here because only training uses them.

Must not import Streamlit, nor `lab.runs`, `lab.replays`, `lab.workspace`, `lab.access`, `lab.leftovers` or
`lab.cli` (they call training, never the reverse). TensorFlow and Keras are imported inside functions, so
importing this package stays cheap for pages and the CLI.
"""
