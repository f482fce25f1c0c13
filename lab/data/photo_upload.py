"""An uploaded photo kept in the workspace once, under a name made from its content.

The same photo uploaded again (a rerun, another visit) reuses the file already there, and two different
photos that share a name ("IMG_0001.jpg") never replace each other. The suffix is kept so decoders that go
by it still know the format.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from lab.storage import write_bytes_atomic

UPLOADS = "uploads"  # the workspace's folder of uploaded photos


def store_photo(data: bytes, name: str, workspace: Path) -> Path:
    """`workspace/uploads/<first 16 hex digits of the bytes' SHA-256><the name's suffix>`, written if new."""
    target = workspace / UPLOADS / (hashlib.sha256(data).hexdigest()[:16] + Path(name).suffix)
    if not target.exists():
        write_bytes_atomic(target, data)
    return target
