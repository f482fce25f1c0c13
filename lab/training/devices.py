"""Which devices TensorFlow sees, and how a run should use them.

Everything goes through documented `tf.config` / `tf.distribute` / `keras.mixed_precision` calls, so
the same code runs on a CPU laptop (what the tests exercise) and on a multi-GPU server: GPUs are
found and used automatically, several GPUs get a `MirroredStrategy`, and mixed precision is switched
on only where it helps (GPUs); on a CPU it would only slow training down, so it is ignored and said so.
"""

from __future__ import annotations

import os
from typing import Any


def list_devices() -> list[dict[str, Any]]:
    """The CPU and every GPU, with what TensorFlow tells about each.

    GPUs carry `device_name` and `compute_capability` where TF knows them
    (`tf.config.experimental.get_device_details`); TF has no documented call for a GPU's total
    memory, so none is shown. The CPU entry adds the core count and the machine's RAM.
    """
    import tensorflow as tf

    devices = []
    for device in tf.config.list_physical_devices():
        entry: dict[str, Any] = {"name": device.name, "type": device.device_type}
        if device.device_type == "GPU":
            details = tf.config.experimental.get_device_details(device)
            entry["description"] = details.get("device_name", "GPU")
            if "compute_capability" in details:
                entry["compute_capability"] = ".".join(map(str, details["compute_capability"]))
        elif device.device_type == "CPU":
            entry["description"] = f"{os.cpu_count()} logical cores"
            entry["memory_bytes"] = _ram_bytes()
        devices.append(entry)
    return devices


def gpu_count() -> int:
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


def distribution():
    """The `tf.distribute` strategy models are built under: a `MirroredStrategy` over all GPUs when there
    are several, else TF's default. Called a distribution in the lab, so it is never confused with a run's
    training strategy (scratch, feature-extractor, frozen, fine-tune)."""
    import tensorflow as tf

    if gpu_count() > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def set_mixed_precision(enabled: bool) -> str:
    """Set Keras's global dtype policy and return a sentence saying what was done.

    "mixed_float16" only when asked and a GPU exists; on a CPU float16 math is emulated and slower,
    so the request is ignored (the returned message says so, and the run log shows it).
    """
    from keras import mixed_precision

    if enabled and gpu_count():
        mixed_precision.set_global_policy("mixed_float16")
        return "Mixed precision on: float16 compute, float32 weights."
    mixed_precision.set_global_policy("float32")
    if enabled:
        return "Mixed precision ignored: no GPU is visible, and on a CPU float16 is slower; training in float32."
    return "Training in float32."


def _ram_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
