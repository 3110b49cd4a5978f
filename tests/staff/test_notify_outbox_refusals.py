"""The gateway's outbox to notify (gateway.staff.notify_outbox): a row notify refuses for what it
holds is set aside, and every later account change still reaches notify."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from gateway.staff import notify_outbox
from services.notify.app import create_app as notify_app
from services.notify.settings import NotifySettings
from tests.support import RunningApp, eventually


def _directory(login: str, email: str) -> str:
    return json.dumps(
        {
            "login": login,
            "display_name": login,
            "email": email,
            "role": "analyst",
            "body_id": None,
            "alerts": "immediate",
            "active": True,
            "changed_at": datetime.now(UTC).isoformat(),
        }
    )


def _message(account: uuid.UUID) -> str:
    return json.dumps(
        {
            "message_id": str(uuid.uuid4()),
            "account_id": str(account),
            "kind": "first_sign_in",
            "link": "https://milie.ci/admin/premiere-connexion/jeton",
            "expires_at": (datetime.now(UTC) + timedelta(hours=48)).isoformat(),
        }
    )


async def test_a_refused_row_is_set_aside_and_the_rows_behind_it_go_on(
    gateway_alone, settings_for, database_url, smtp_server
):
    unknown, awa, moussa = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    rows = [
        ("message", unknown, _message(unknown)),  # 404: no such account in notify's directory
        ("directory", awa, _directory("awa.kone", "awa.kone@osep.gouv.ci")),
        ("directory", moussa, _directory("moussa.diallo", "pas-une-adresse")),  # 400
        ("message", moussa, _message(moussa)),  # behind it: not to an address being replaced
        ("directory", moussa, _directory("moussa.diallo", "moussa.diallo@osep.gouv.ci")),
        ("message", moussa, _message(moussa)),  # after the account's fixed row: sent
    ]
    db = await asyncpg.connect(database_url)
    try:
        ids = [
            await db.fetchval(
                """INSERT INTO gateway.notify_outbox (kind, account_id, payload)
                   VALUES ($1, $2, $3) RETURNING id""",
                *row,
            )
            for row in rows
        ]
        notify = RunningApp(
            notify_app(settings_for(NotifySettings, smtp_port=smtp_server.port, db_pool_min=1))
        )
        async with notify:
            gateway = await gateway_alone(notify_url=notify.url)
            notify_outbox.wake(gateway.app)

            async def left() -> dict[int, tuple] | None:
                kept = await db.fetch(
                    "SELECT id, refused_at IS NOT NULL AS refused, attempts, last_error "
                    "FROM gateway.notify_outbox ORDER BY id"
                )
                if any(not r["refused"] for r in kept):
                    return None
                return {r["id"]: (r["attempts"], r["last_error"]) for r in kept}

            aside = await eventually(left)
            # The unknown account's email and moussa's email queued behind his refused row are
            # set aside, each tried once; his refused row went once his next one reached notify.
            assert list(aside) == [ids[0], ids[3]]
            assert aside[ids[0]] == (1, "404 unknown_recipient")
            assert aside[ids[3]] == (1, "behind a refused directory row of its account")
            kept = await db.fetch("SELECT login, email FROM notify.staff_recipients ORDER BY login")
            assert [tuple(r) for r in kept] == [
                ("awa.kone", "awa.kone@osep.gouv.ci"),
                ("moussa.diallo", "moussa.diallo@osep.gouv.ci"),
            ]
            sent = await eventually(lambda: _deliveries(db))
            assert sent == [("moussa.diallo@osep.gouv.ci",)]

            # A later change still goes through, and what was set aside is not tried again.
            await db.execute(
                "INSERT INTO gateway.notify_outbox (kind, account_id, payload) "
                "VALUES ('directory', $1, $2)",
                awa,
                _directory("awa.kone", "awa.kone@fonction-publique.gouv.ci"),
            )
            notify_outbox.wake(gateway.app)

            async def moved() -> bool:
                return await db.fetchval(
                    "SELECT email FROM notify.staff_recipients WHERE login = 'awa.kone'"
                ) == ("awa.kone@fonction-publique.gouv.ci")

            await eventually(moved)
            again = await db.fetch("SELECT id, attempts FROM gateway.notify_outbox ORDER BY id")
            assert [tuple(r) for r in again] == [(ids[0], 1), (ids[3], 1)]
    finally:
        await db.close()


async def _deliveries(db: asyncpg.Connection) -> list[tuple]:
    rows = await db.fetch("SELECT recipient FROM notify.deliveries WHERE request_id IS NULL")
    return [tuple(r) for r in rows]
