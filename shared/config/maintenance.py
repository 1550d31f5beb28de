"""The ``maintenance`` config section: journal retention, its Parquet archive and nightly backups.

The nightly program (supervisord ``review``) applies it after each review, never the trading
loop. Each ``*_days`` is how long rows of that table stay in the journal (0 = forever); rows
something still needs (a trade's entry decision, an open position's decisions, an LLM call a
kept decision or a lesson names, an undelivered alert, each table's newest row) are always kept.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, field_validator

from shared.config.bounds import BoundedModel

MIN_RETENTION_DAYS = 2  # the nightly review reads yesterday's decisions and calls


def _days(default: int, what: str) -> int:
    return Field(default, ge=0, le=3650,
                 description=f"{what} older than this many days are deleted (0 = keep forever)")


class MaintenanceConfig(BoundedModel):
    """Retention per journal table, the archive of deleted rows, and the nightly backup."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    retention: bool = Field(True, description="Delete old rows nightly (the days below)")
    decisions_days: int = _days(
        7, "Decisions (one per bar, with features and votes JSON; trades' entry decisions stay)")
    events_days: int = _days(90, "Events")
    llm_calls_days: int = _days(180, "LLM calls (prompt and reply)")
    alerts_days: int = _days(90, "Delivered or failed alerts (and their attempts)")
    archive: bool = Field(
        True, description="Write deleted rows to Parquet files first (nothing is lost)")
    archive_dir: str = Field(
        "", description="Folder of the Parquet archive; empty = 'archive' beside the database")
    batch_rows: int = Field(
        500, ge=100, le=50_000,
        description="Rows deleted per short write transaction (the bot writes in between)")
    batch_pause_ms: float = Field(
        50.0, ge=0, le=5000, description="Pause between two delete transactions")
    backup_keep: int = Field(
        7, ge=0, le=365, description="Nightly backups kept (oldest removed); 0 = no backup")
    backup_dir: str = Field(
        "", description="Folder of the nightly backups; empty = 'backups' beside the database")

    @field_validator("decisions_days", "events_days", "llm_calls_days", "alerts_days")
    @classmethod
    def _at_least_two(cls, days: int) -> int:
        if 0 < days < MIN_RETENTION_DAYS:
            raise ValueError(f"must be 0 (keep forever) or at least {MIN_RETENTION_DAYS} days: "
                             "the nightly review reads the last day's rows")
        return days
