"""Files only their owner may read: the journal, its backups and archives, config files, the lock.

The journal holds positions, P&L, prompts and the config; a mode of 0644 lets every local user
read them. Files the product creates are created ``0600`` (``os.open`` with that mode, so there
is no moment when a wider file exists); an existing file keeps the mode its owner chose.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_MODE = 0o600


def create_private(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 if it does not exist; True when it was created."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def write_private_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file, then rename) with mode 0600."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, PRIVATE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, PRIVATE_MODE)  # O_TRUNC of a leftover keeps its old mode
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
