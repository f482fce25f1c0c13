"""Tutorial replays: one action reproduces a whole tutorial, its published figures beside the lab's numbers.

`catalog` holds the two tutorials (their experiments, published figures and a quick variant), `plan` turns
one into runs on this machine (shared splits, stand-in backbones, the record) and queues or runs them, and
`table` reads the runs back into the tutorial's table, and `findings` judges each of the tutorial's findings by a
stated test on the shared test photos; `more_data` gives the Keras replay's answer to "does more data help?".

Builds on `lab.runs` (the queue, the worker, the study's shared manifest), `lab.training` and `lab.evaluation`.
Must not import Streamlit, nor `lab.cli`, `lab.workspace`, `lab.access` or `lab.leftovers` (the doors call the
replays, never the reverse); TensorFlow is imported only inside the runs it starts.
"""
