"""Runs: the run folders, the queue of background workers, and the worker process itself.

Owns a run's files (`config.json`, `status.json`, `log.txt`, history and metrics as training wrote
them), its states and what they mean, the lock around queue decisions, and starting, stopping and
reconciling worker processes. One module each: `status` (the states and the `status.json` record),
`describe` (a status and training events in words), `store` (the run folders), `jobs` (the queue and
worker processes, and the stop's escalation), `worker` (the body of a worker process), `liveness` (its
heartbeat and the "not responding" limit).

Must not import Streamlit. It calls `lab.training` only inside the worker, so listing or launching runs
never imports TensorFlow.
"""
