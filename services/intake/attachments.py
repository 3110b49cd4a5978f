"""A request's attachments: moved from the citizen's draft into the request's transaction, and
read back for staff and for the citizen (listed on the tracking page, downloaded once the
gateway has checked the code and the email)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from shared.messages import AttachmentRef


async def adopt_draft_files(
    conn: asyncpg.Connection, draft_id: UUID, request_id: UUID
) -> list[AttachmentRef]:
    """Move the draft's files to the request (call in the transaction that stores the request).

    The bytes are copied inside PostgreSQL, never through this process; the file keeps the id
    it had in the draft."""
    rows = await conn.fetch(
        """WITH moved AS (
               DELETE FROM draft_files WHERE draft_id = $1
               RETURNING id, filename, content_type, size, data, added_at)
           INSERT INTO attachments (id, request_id, filename, content_type, size, data, added_at)
           SELECT id, $2, filename, content_type, size, data, added_at FROM moved
           RETURNING id, filename, content_type, size, added_at""",
        draft_id,
        request_id,
    )
    rows = sorted(rows, key=lambda r: (r["added_at"], r["id"]))
    return [
        AttachmentRef(
            attachment_id=r["id"],
            filename=r["filename"],
            content_type=r["content_type"],
            size=r["size"],
        )
        for r in rows
    ]


async def for_staff(conn: asyncpg.Connection, attachment_id: UUID) -> asyncpg.Record | None:
    """The file with the body its request is indexed under (to check a focal point's body)."""
    return await conn.fetchrow(
        """SELECT a.id, a.filename, a.content_type, a.size, a.data, r.body_id
           FROM attachments a JOIN requests r ON r.id = a.request_id
           WHERE a.id = $1""",
        attachment_id,
    )


async def of_request(conn: asyncpg.Connection, request_id: UUID) -> list[asyncpg.Record]:
    """The request's files (id, name, size), in the order they were added; none once purged
    (the purge deletes them)."""
    return await conn.fetch(
        """SELECT id, filename, size FROM attachments WHERE request_id = $1
           ORDER BY added_at, id""",
        request_id,
    )


async def for_citizen(
    conn: asyncpg.Connection, attachment_id: UUID, code: str
) -> asyncpg.Record | None:
    """The file if it is one of the request ``code``'s and its data was not purged."""
    return await conn.fetchrow(
        """SELECT a.filename, a.content_type, a.data
           FROM attachments a JOIN requests r ON r.id = a.request_id
           WHERE a.id = $1 AND r.code = $2 AND r.purged_at IS NULL""",
        attachment_id,
        code,
    )
