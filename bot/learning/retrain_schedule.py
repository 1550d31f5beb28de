"""When the retrain schedule prepares a fine-tuning job, and whether it may start one (pure).

The schedule (``finetune.retrain_*``) is due when ``retrain_after_examples`` (> 0) new labelled
examples exist since it last acted (a job, or files prepared), or, with ``retrain_weekly``, when
a week has passed since then and at least one new example exists (a week of nothing teaches
nothing). It may start the job itself only with ``auto_start``, a base model, a role and an S3
URI configured, files that pass the job's checks and an estimate within ``retrain_max_usd``;
otherwise every reason is named and a person starts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.config.finetune import FinetuneConfig

WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class ScheduleDecision:
    """Whether the files are prepared tonight, and why (not)."""

    due: bool
    reason: str


def schedule_decision(cfg: FinetuneConfig, new_examples: int, last_at: datetime | None,
                      now: datetime) -> ScheduleDecision:
    """Is a retrain due, given the new labelled examples since the schedule last acted?"""
    if cfg.retrain_after_examples == 0 and not cfg.retrain_weekly:
        return ScheduleDecision(False, "retrain schedule off (finetune.retrain_after_examples "
                                "is 0 and finetune.retrain_weekly is false)")
    since = "ever" if last_at is None else f"since {last_at:%Y-%m-%d %H:%M} UTC"
    if 0 < cfg.retrain_after_examples <= new_examples:
        return ScheduleDecision(True, f"{new_examples} new labelled examples {since} "
                                f"(finetune.retrain_after_examples {cfg.retrain_after_examples})")
    if cfg.retrain_weekly and (last_at is None or now - last_at >= WEEK):
        if new_examples > 0:
            return ScheduleDecision(True, f"weekly retrain: {new_examples} new labelled "
                                    f"examples {since}")
        return ScheduleDecision(False, f"weekly retrain due but no new labelled example {since}")
    wanted = (f"{cfg.retrain_after_examples} needed" if cfg.retrain_after_examples
              else "count trigger off")
    waiting = f"{new_examples} new labelled examples {since} ({wanted})"
    return ScheduleDecision(False, f"{waiting}; no week passed" if cfg.retrain_weekly
                            else waiting)

def start_blockers(cfg: FinetuneConfig, estimate_usd: float,
                   file_problems: tuple[str, ...] = ()) -> list[str]:
    """Every reason the schedule may not start the job itself (empty: it may)."""
    reasons = [] if cfg.auto_start else ["finetune.auto_start is off"]
    reasons += [f"finetune.{name} is empty" for name in
                ("retrain_base_model", "retrain_role_arn", "retrain_s3_uri")
                if not getattr(cfg, name).strip()]
    reasons += list(file_problems)
    if estimate_usd > cfg.retrain_max_usd:
        reasons.append(f"estimate ${estimate_usd:,.2f} is above finetune.retrain_max_usd "
                       f"(${cfg.retrain_max_usd:,.2f})")
    return reasons
