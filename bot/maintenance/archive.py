"""Parquet files of rows about to be deleted from the journal (pyarrow).

Each file holds one table's rows with the table's declared column types (INTEGER -> int64,
REAL -> float64, TEXT -> string, BLOB -> binary). It is written under a temporary name, synced
and renamed into place before any of its rows is deleted, so a crash leaves either the rows in
the journal or a complete file (at worst both: a row archived twice, never one lost). Files are
created 0600 like the journal.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from shared.private_files import create_private

ARROW_TYPES = {"INTEGER": pa.int64(), "REAL": pa.float64(), "TEXT": pa.string(),
               "BLOB": pa.binary()}


def arrow_schema(declared: Mapping[str, str]) -> pa.Schema:
    """The archive schema of a table from its declared column types (unknown types: string)."""
    return pa.schema([(name, ARROW_TYPES.get(kind, pa.string()))
                      for name, kind in declared.items()])


class ArchiveFile:
    """One Parquet file being written batch by batch; ``close`` makes it final."""

    def __init__(self, path: Path, declared: Mapping[str, str]) -> None:
        self.path = Path(path)
        self.schema = arrow_schema(declared)
        self.rows = 0
        self._partial = self.path.with_name(f".{self.path.name}.partial")
        self._writer: pq.ParquetWriter | None = None

    def write(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append ``rows`` (column name -> value as stored) as one row group."""
        if not rows:
            return
        table = pa.Table.from_pylist([dict(r) for r in rows], schema=self.schema)
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._partial.unlink(missing_ok=True)
            create_private(self._partial)
            self._writer = pq.ParquetWriter(str(self._partial), self.schema,
                                            compression="zstd")
        self._writer.write_table(table)
        self.rows += len(rows)

    def close(self) -> Path | None:
        """Finish the file (synced, renamed into place); None when no row was written."""
        if self._writer is None:
            return None
        self._writer.close()
        self._writer = None
        fd = os.open(self._partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(self._partial, self.path)
        return self.path

    def discard(self) -> None:
        """Drop an unfinished file (its rows were not deleted)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._partial.unlink(missing_ok=True)


def read_archive(path: Path) -> list[dict[str, Any]]:
    """The rows of an archive file, as written (for checks and restores)."""
    return pq.read_table(str(path)).to_pylist()
