"""Runs on a Ray cluster (`TRANSFER_LAB_EXECUTOR=ray`): each queued run becomes a Ray actor doing the same work as
a local worker process (`lab.runs.jobs.take_turn`, handed over as a callable), on whichever node has room.

Why a detached actor and not a plain task: a Ray task belongs to the process that submitted it and dies with it,
and the lab submits from short-lived processes (a CLI command, a worker handing on the queue, a page's script
run). A detached actor (`lifetime="detached"`) outlives them, is named after its run, and any process that joins
the cluster can ask the cluster's control store about it by the id kept in the run's status: still waiting for
room, alive, or dead with Ray's reason. That is how a restarted server re-attaches to runs still on the cluster.
`max_restarts=0`: a worker that died is reported failed, never started twice on one folder. The actor asks for
one GPU where the cluster has GPUs, else `Settings.ray_cpus` CPUs, and Ray decides where and when it runs.

The run folder is the only channel between the lab and the actor, so the workspace must be on storage every node
mounts at the same path. An actor on a node that cannot see its run folder fails at creation, and the run is
marked failed with that reason (nothing is lost: launch it again once the storage is mounted).

The cluster's actor table is read with `ray._private.state.actors`, the control store's own record, because
Ray's public state API (`ray.util.state`) needs the dashboard, which a plain `pip install ray` does not bring.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.run_files import RunFiles
from lab.runs.executors import RunWork
from lab.runs.status import Status
from lab.runs.store import Run
from lab.settings import Settings, worker_environment

NAMESPACE = "transfer-lab"
WAITING = ("DEPENDENCIES_UNREADY", "PENDING_CREATION", "ALIVE", "RESTARTING")  # actor states of a live task
RETRY_SECONDS = 60.0  # after a failed connection, polls do not try again (and wait again) for this long
CONNECT_SECONDS = 3.0
_joined: str | None = None  # the address this process joined (None inside an actor, which Ray joined for it)
_failure: tuple[str, float, LabError] | None = None


def connect(settings: Settings) -> None:
    """Join the cluster at `settings.ray_address` once per process (an actor is already joined). An unreachable
    cluster is a `LabError` saying what to do, remembered for `RETRY_SECONDS`, so a page polling every few
    seconds is not held up by Ray's own retries (two minutes for an address nobody answers)."""
    global _joined, _failure
    import ray

    address = settings.ray_address
    if ray.is_initialized():
        if _joined in (None, address):
            return
        ray.shutdown()  # the settings now name another cluster
    if _failure and _failure[0] == address and time.monotonic() - _failure[1] < RETRY_SECONDS:
        raise _failure[2]
    try:
        _check_reachable(address)
        ray.init(address=address, namespace=NAMESPACE, log_to_driver=False, logging_level="ERROR")
    except (ConnectionError, RuntimeError, LabError) as exc:
        _failure = (address, time.monotonic(), _unreachable(address, exc))
        raise _failure[2] from None
    _joined, _failure = address, None


def _check_reachable(address: str) -> None:
    """A quick TCP check of a `host:port` or `ray://host:port` address (the one Ray would otherwise retry for
    minutes: over half a minute for a `ray://` address nobody answers)."""
    if address == "auto":
        address = os.environ.get("RAY_ADDRESS") or _current_cluster()
    if ":" not in address.removeprefix("ray://"):
        return
    host, port = address.removeprefix("ray://").rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except (OSError, ValueError) as exc:
        raise LabError(f"nothing answers at {address} ({exc})") from None


def _current_cluster() -> str:
    """The address of the cluster `ray start` last started on this machine, as Ray's own `auto` finds it."""
    import tempfile

    record = Path(os.environ.get("RAY_TMPDIR", tempfile.gettempdir())) / "ray" / "ray_current_cluster"
    try:
        return record.read_text().strip()
    except OSError:
        raise LabError("no Ray cluster runs on this machine") from None


def _unreachable(address: str, exc: Exception) -> LabError:
    reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
    if "auth" in str(exc).lower() and "token" in str(exc).lower():
        reason += ("; the cluster wants a token: set RAY_AUTH_MODE=token where the app runs (Ray reads the token "
                   "from ~/.ray/auth_token or RAY_AUTH_TOKEN)")
    return LabError(f"Cannot reach the Ray cluster at {address!r}: {reason}. Start one (`ray start --head`), set "
                    "TRANSFER_LAB_RAY_ADDRESS to its address, or set TRANSFER_LAB_EXECUTOR=local to train on this "
                    "machine. Queued runs wait meanwhile.")


class RayExecutor:
    """Runs as detached Ray actors; see the module docstring."""

    fans_out = True  # every queued run goes to the cluster at once

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def slots(self, running: int, queued: int) -> int:
        return queued  # every queued run goes to the cluster at once: Ray places them as room appears

    def start(self, run: Run, work: RunWork) -> None:
        """Create the run's actor, doing `work` with the run, and record its id; the run stays queued until the
        actor claims it."""
        actor = spawn(actor_name(run), functools.partial(_as_task, work, str(run.path)), self.settings, sees=run.path)
        task = actor._actor_id.hex()  # the id is the one name of an actor that outlives its (reusable) name
        run.update(task=task)
        run.log(f"handed to the Ray cluster at {self.settings.ray_address} as task {task}")

    def resources(self) -> dict[str, float]:
        """One GPU where the cluster has GPUs, and `Settings.ray_cpus` CPUs."""
        import ray

        if ray.cluster_resources().get("GPU", 0) >= 1:
            return {"num_gpus": 1, "num_cpus": self.settings.ray_cpus}
        return {"num_cpus": self.settings.ray_cpus}

    def alive(self, run: Run, status: Status) -> bool:
        return actor_record(self.settings, status.task).get("State") in WAITING

    def end_reason(self, run: Run, status: Status) -> str | None:
        record = actor_record(self.settings, status.task)
        if not record:
            return "the Ray cluster has no record of its task (was the cluster restarted?)"
        return f"its Ray task died: {death_reason(record.get('DeathCause'))}"

    def end(self, run: Run, status: Status, signum: signal.Signals) -> str:
        """Ray's kill ends the actor's process at once (for SIGTERM as for SIGKILL: the gentle way was the stop
        file); a task already gone is left alone."""
        import ray

        actor = _live_actor(self.settings, actor_name(run))
        if actor is not None:  # else it has ended
            ray.kill(actor, no_restart=True)
        return "Ray's kill"

    def spawn(self, name: str, work: Callable[[], None]) -> None:
        spawn(name, work, self.settings)

    def task_alive(self, name: str) -> bool:
        """Whether the lab's actor called `name` still lives (a detached actor's name is freed when it dies)."""
        return _live_actor(self.settings, name) is not None


def actor_name(run: Run) -> str:
    return f"run-{run.id}"


def _live_actor(settings: Settings, name: str) -> Any:
    """The lab's live actor called `name`, or None."""
    import ray

    connect(settings)
    try:
        return ray.get_actor(name, namespace=NAMESPACE)
    except ValueError:
        return None


def spawn(name: str, work: Callable[[], None], settings: Settings, *, sees: Path | None = None) -> Any:
    """Run `work` as the detached actor `name` with a run's resources, and return its handle at once. `sees`: a
    run folder whose `config.json` the actor's node must see, or the actor fails at creation, saying so."""
    connect(settings)
    return _actor_class().options(
        name=name, namespace=NAMESPACE, lifetime="detached", max_restarts=0,
        runtime_env={"env_vars": worker_environment(settings)}, **RayExecutor(settings).resources(),
    ).remote(work, str(sees) if sees else None)


def _as_task(work: RunWork, run_dir: str) -> None:
    """A run's work in its actor, which claims the run as this actor's task."""
    import ray

    work(Run(Path(run_dir)), task=ray.get_runtime_context().get_actor_id())


def actor_record(settings: Settings, task: str | None) -> dict[str, Any]:
    """The cluster's record of the actor `task` (empty when it has none)."""
    from ray._private import state

    connect(settings)
    return state.actors(task) if task else {}


def death_reason(cause: Any) -> str:
    """One line from Ray's death cause: the error message of a dead worker, or the last line of the exception
    an actor raised while it was being created."""
    if cause is None or not cause.ListFields():
        return "no reason recorded"
    context = getattr(cause, cause.WhichOneof("context"))
    message = getattr(context, "error_message", "") or getattr(context, "formatted_exception_string", "")
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return lines[-1] if lines else str(context).strip().splitlines()[0]


@functools.cache
def _actor_class():
    """The actor class, made once when first needed, so that importing this module does not import Ray."""
    import ray

    @ray.remote
    class LabWorker:
        """Does `work` (a run's, or a study's feature task) once. It checks at creation that this node sees the
        run folder (a node without the shared workspace fails with that reason), then works in a thread
        of its own and, done, removes itself from the cluster.

        The work starts from the constructor, not from a method call: a call is owned by the process that makes
        it and is lost if that process exits before the actor exists (a CLI launch that returns at once), while
        a detached actor's creation belongs to the cluster."""

        def __init__(self, work: Callable[[], None], sees: str | None) -> None:
            if sees and not RunFiles(Path(sees)).config.is_file():
                raise LabError(f"Ray node {socket.gethostname()} cannot see the run folder {sees}: mount the "
                               "lab's workspace at the same path on every node of the cluster (README, "
                               "\"Outgrowing one machine\"), then launch the run again.")
            threading.Thread(target=self._work, args=(work,), daemon=True).start()

        def _work(self, work: Callable[[], None]) -> None:
            try:
                work()
            finally:  # frees its CPUs or GPU; the run has recorded how it ended
                ray.kill(ray.get_runtime_context().current_actor, no_restart=True)

    return LabWorker
