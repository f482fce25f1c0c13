"""Runs: the run folders, the queue, the executors that give runs their workers, and the worker's work itself.

Owns a run's folder as `lab.run_files` names it (`config.json`, `status.json`, `log.txt`, history and metrics as
training wrote them), its states and what they mean, the lock around queue decisions, and starting, stopping and
reconciling workers. One module each: `status` (the states and the `status.json` record), `describe` (a status and
training events in words), `liveness` (is a worker alive: the "not responding" limit and the stop's grace
periods), `names` (a run's human name), `store` (the run folders), `labels` (a run's name and tags), `heartbeat`
(the worker's beat), `executors` (the contract every executor keeps: a leaf), `local` and `ray_cluster` (a process
on this machine, an actor on a Ray cluster), `placement` (which executor has a run), `worker` (one run executed),
`tracking` (a run copied to MLflow), `queue` (the line's order, each waiting run's place and expected start),
`jobs` (the queue, cancel and run next, the stop's escalation, and `take_turn`: a worker's run, then the queue
handed on, then MLflow), `groups` (the records of a study's or replay's runs), `study` (the dataset-size study),
`table` (the runs table's rows). Imports run one way inside it, in about that order, with no circle: the queue
names no executor, and the executors name neither the queue nor the worker (the queue hands them its work).

Must not import Streamlit, nor what stands above it: `lab.replays`, `lab.cli`, `lab.workspace`, `lab.access`,
`lab.leftovers`. It calls `lab.training` only inside the worker, so listing or launching runs never imports
TensorFlow.
"""
