"""Keep a batch process's memory near what it holds: freed large arrays go back to the OS.

glibc serves allocations below a threshold from its heap and raises that threshold each time a
large block is freed, so after loading a million bars the freed parse buffers stay resident and
the engine's arrays come on top of them. Serving every allocation of 1 MiB or more by ``mmap``
returns each freed array at once. Linux/glibc only; elsewhere only pyarrow's pool changes.
"""

from __future__ import annotations

import ctypes
import logging

import pyarrow as pa

logger = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 1 << 20


def _libc() -> ctypes.CDLL | None:
    """The C library already loaded in this process (no ``find_library``: it runs ldconfig)."""
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def trim_heap() -> None:
    """Give the heap's free pages back to the OS (after a load that freed many small blocks)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def return_freed_arrays_to_os() -> bool:
    """Set glibc's mmap threshold to 1 MiB for this process; return whether it took effect.

    pyarrow is switched to the system allocator too (its own pool keeps freed blocks).
    """
    pa.set_memory_pool(pa.system_memory_pool())
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    done = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    logger.debug("mmap threshold %d bytes: %s", MMAP_THRESHOLD_BYTES, done)
    return done
