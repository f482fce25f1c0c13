"""Runs: the run folders, the queue of background workers, and the worker process itself.

Owns a run's files (`config.json`, `status.json`, `log.txt`, history and metrics as training wrote
them), its states and what they mean, the lock around queue decisions, and starting, stopping and
reconciling worker processes.

Must not import Streamlit. It calls `lab.training` only inside the worker, so listing or launching runs
never imports TensorFlow.
"""
