"""notify's rows past their keeping time, removed every ``retention_sweep_seconds``
(shared.retention: bounded batches, several copies at once).

- The staff mails' bookkeeping (staff_mail.py, staff_digests.py), kept ``staff_mail_kept_days``:
  ``staff_new_requests`` (the digest reads the day before only), ``staff_daily_mails`` (today's
  row keeps the day's mail from going twice), and what keeps a late request answered: the
  answered rows of ``staff_late_requests`` and ``staff_answers``. A deadline missed applied
  after the answer that followed it (another copy of notify, a message given back) must find
  that answer; it comes no later than a message can come again, which is what the inbox keeps
  (``inbox_kept_days``): the settings refuse a shorter keeping time. The late rows not
  answered stay whatever their age: they are the analysts' list.
- The emails and SMS tied to no request, once sent or given up, kept
  ``unattached_deliveries_kept_days``: the codes reminders (a citizen's address and codes, which
  no request's purge reaches when the address has none left), the staff's daily mails and first
  sign-in links (a link to choose a password). A request's own deliveries stay: they are its
  dated record of what the citizen was told, emptied of the recipient and texts by the purge
  (purge.py), as the history's lines are kept.
"""

from __future__ import annotations

import logging

import asyncpg

from services.notify.settings import SETTINGS, NotifySettings
from shared import periodic
from shared.retention import BATCH, delete_in_batches
from shared.service import POOL

log = logging.getLogger(__name__)

_OLDER = "< now() - make_interval(days => $1)"
# (table, which rows, the setting giving their keeping time in days)
_KEPT = (
    ("staff_new_requests", f"reached_at {_OLDER}", "staff_mail_kept_days"),
    ("staff_daily_mails", "day < current_date - $1::integer", "staff_mail_kept_days"),
    ("staff_late_requests", f"answered_at {_OLDER}", "staff_mail_kept_days"),
    ("staff_answers", f"answered_at {_OLDER}", "staff_mail_kept_days"),
    (
        "deliveries",
        f"request_id IS NULL AND status <> 'pending' AND created_at {_OLDER}",
        "unattached_deliveries_kept_days",
    ),
)


async def sweep(pool: asyncpg.Pool, settings: NotifySettings, batch: int = BATCH) -> dict[str, int]:
    """Remove every row past its keeping time; how many went, by table."""
    gone = {}
    for table, where, days in _KEPT:
        gone[table] = await delete_in_batches(
            pool, table, where, getattr(settings, days), batch=batch
        )
    if any(gone.values()):
        log.info("rows past their keeping time removed", extra={"removed": gone})
    return gone


def ticking():
    """The app's context (``cleanup_ctx``) that sweeps every ``retention_sweep_seconds``."""
    return periodic.every(
        "notify-retention",
        lambda app: app[SETTINGS].retention_sweep_seconds,
        lambda app: sweep(app[POOL], app[SETTINGS]),
    )
