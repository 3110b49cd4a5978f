"""The ministries' half of the fault campaign (``bench.faults``): what happens to a validated
réclamation after the analysts, driven while the faults go on, and its checks at the end.

- **The body** answers through the ministry API with its key (``POST /api/ministeres/v1/
  requests/{code}/answer``, as a ministry's system does; the gateway signs the call to treatment
  for the key): each validated réclamation once it reached treatment, each reopened one again,
  and now and then a citizen closed « Non satisfait » a further time (``answer-again``). Every
  answer's message carries a reference of its own, so that each call is found (or not) in
  treatment's answers.
- **The citizens** reply through the gateway's public tracking API, with their code and email,
  once intake shows the answer: « Satisfait », « Partiellement satisfait », « Non satisfait »
  (``/api/v1/tracking/opinion``) or « Relancer » (``/api/v1/tracking/reopen``), at most one
  reopening each; intake records the reply and forwards it to treatment through its outbox.
- **Time**: a few citizens never reply; the campaign moves their opinion window's last day into
  the past (treatment's ``opinion_due``, what « Délais » sets) and treatment's clock, sweeping
  every 2 s here, closes them « sans retour ».

A call with no reply (a killed process, a restarted broker) may or may not have been applied. The
citizen sends the same reply again, and the body its first answer: the second call is applied,
or refused (409) because the first one was; either way, at most one may be found at the end. A
further answer with no reply is not sent again (a 409 would not say which answer it refuses): its
request is driven no further and checked for duplicates only. At the end, from the
databases and the mail received: each accepted answer is in treatment once, in intake's
history once, and its email was received (by Message-ID: one per answer; the same one twice is
counted, at least once being allowed); each reply intake recorded was applied once by treatment
(one history line, one opinion or reopening row) or refused once with the citizen told; each
request's status is the same in treatment, intake's tracking view and stats, and so are the
opinions and « sans retour » closures; stats' counters equal its facts.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import TYPE_CHECKING, Protocol

import aiohttp
import asyncpg

from gateway.staff import api_keys
from shared.messages import (
    RequestCitizenAnsweredV1,
    RequestCitizenReplyRefusedV1,
    RequestClosedV1,
    RequestReopenedV1,
    RequestTreatedV1,
)

if TYPE_CHECKING:
    from deploy.local.platform import Platform


class Campaign(Protocol):
    """What this half reads of ``bench.faults.Campaign``, which holds it (said here, not
    imported: the campaign imports this module)."""

    random: random.Random
    database_url: str
    platform: Platform | None
    stopping: asyncio.Event
    accepted: dict[str, str]  # email → code
    decided: dict[str, str]  # code → validate | reject


MINISTRY_API = "/api/ministeres/v1"
OPINIONS = ("satisfied", "partly_satisfied", "not_satisfied")
# What a citizen does with an answer: weights of an opinion of each kind, a reopening, nothing
# (the clock closes it « sans retour »), an opinion as the window closes (« late »: the clock and
# the opinion race; the opinion is applied, or refused and the citizen told).
CHOICES = {
    "satisfied": 35,
    "partly_satisfied": 10,
    "not_satisfied": 20,
    "reopen": 25,
    "none": 7,
    "late": 5,
}
# The limits of the anonymous tracking routes, lifted: every citizen here calls from 127.0.0.1.
UNLIMITED_TRACKING = {
    "MILIE_TRACKING_PER_CODE": "10000000",
    "MILIE_TRACKING_PER_EMAIL": "10000000",
    "MILIE_TRACKING_PER_CLIENT": "10000000",
}
CLOCK = {"MILIE_CLOCK_INTERVAL_SECONDS": "2"}
# Treatment's events that notify tells the citizen (a closure only without an opinion).
TOLD = (
    RequestTreatedV1,
    RequestCitizenAnsweredV1,
    RequestReopenedV1,
    RequestClosedV1,
    RequestCitizenReplyRefusedV1,
)
UNSURE = "unsure"  # a call without an answer: the request is driven no further
ANSWER_UNSURE = "answer?"  # a first answer without a reply from the API: asked again
REPLY_UNSURE = "reply?"  # a citizen's reply without a reply: sent again


@dataclass
class TreatmentFigures:
    answers_sent: int = 0
    answers_accepted: int = 0  # 200 (answer and answer-again)
    answers_unsure: int = 0
    replies_sent: int = 0
    replies_accepted: dict[str, int] = field(default_factory=dict)  # kind → 202
    replies_unsure: int = 0
    replies_refused_by_treatment: int = 0
    left_to_the_clock: int = 0
    late_opinions: int = 0  # sent as the window closed
    late_refused_by_intake: int = 0  # the closure reached intake first (409 closed)
    closed_by_the_clock: int = 0
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # figure → (treatment, stats)
    answer_emails_twice: int = 0
    told_by_email: dict[str, int] = field(default_factory=dict)  # event → events told
    told_emails_twice: int = 0
    # call → refusals (by answer); a plain dict: asdict() would turn a Counter's items into keys
    refused: dict[str, int] = field(default_factory=dict)
    no_reply: dict[str, int] = field(default_factory=dict)  # call → 5xx or no answer at all


class TreatmentHalf:
    """The body and its citizens, on the campaign's platform (see the module's docstring)."""

    def __init__(self, campaign: Campaign, body: str) -> None:
        self.c = campaign
        self.body_id = body  # the campaign's one body, whose key answers
        # Its own draws: the faults' order stays the campaign's, whatever this half does.
        self.random = random.Random(campaign.random.random())
        self.figures = TreatmentFigures()
        self.key = ""
        self.state: dict[str, str] = {}  # code → what the driver last saw accepted, or UNSURE
        self.reopened: set[str] = set()
        self.answered_again: set[str] = set()
        self.answers: dict[str, str] = {}  # reference → code, answered 200
        self.unsure_answers: dict[str, str] = {}  # reference → code, no answer from the API
        self.accepted_replies: Counter[tuple[str, str]] = Counter()  # (code, kind) → 202s
        self.unsure_replies: dict[str, tuple[str, dict]] = {}  # code → the call to send again
        self.aged: set[str] = set()
        self.late: set[str] = set()  # the opinion sent as the clock closes the request

    async def prepare(self) -> None:
        """A key of the campaign's body, as « Clés d'API » makes one."""
        conn = await asyncpg.connect(self.c.database_url)
        try:
            await conn.execute("SET search_path TO gateway, public")
            _, self.key = await api_keys.create(
                conn,
                body_id=self.body_id,
                label="SI de la campagne de pannes",
                calls_per_minute=1_000_000,
                created_by="faults",
            )
        finally:
            await conn.close()

    # -- the body --------------------------------------------------------------------------------

    def _to_answer(self) -> list[tuple[str, str]]:
        """(code, action) the body may act on now: validated and not answered yet (or answered
        with no reply from the API: asked again), reopened, closed « Non satisfait » and not
        answered again."""
        out = []
        for code, kind in list(self.c.decided.items())[-200:]:
            if kind != "validate":
                continue
            seen = self.state.get(code)
            if seen in (None, ANSWER_UNSURE, "reopened"):
                out.append((code, "answer"))
            elif seen == "not_satisfied" and code not in self.answered_again:
                if self.random.random() < 0.3:
                    out.append((code, "answer-again"))
                else:
                    self.answered_again.add(code)  # left as it is
        return out

    async def body(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        base = self.c.platform.url("gateway") + MINISTRY_API
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            while not self.c.stopping.is_set():
                await asyncio.sleep(0.25)
                waiting = self._to_answer()
                if not waiting:
                    continue
                code, action = self.random.choice(waiting)
                seen = self.state.get(code)
                ref = uuid.uuid4().hex[:12]
                message = f"Réponse de l'organisme (campagne de pannes, réf. {ref})."
                self.figures.answers_sent += 1
                try:
                    async with http.post(
                        f"{base}/requests/{code}/{action}",
                        json={"message": message},
                        headers=headers,
                    ) as resp:
                        status = resp.status
                        said = await resp.json(content_type=None)
                except (aiohttp.ClientError, TimeoutError, ValueError):
                    status, said = 0, None
                if status == 200:
                    self.answers[ref] = code
                    self.figures.answers_accepted += 1
                    if action == "answer":
                        self.state[code] = "treated"
                    else:
                        self.answered_again.add(code)
                elif status == 404 and seen in (None, ANSWER_UNSURE):
                    continue  # request.validated not in treatment yet: later
                elif status == 409 and seen in ("reopened", "not_satisfied"):
                    continue  # the citizen's « Relancer » or opinion not in treatment yet: later
                elif status == 409 and seen == ANSWER_UNSURE:
                    # The first answer, asked again after no reply: it was applied then.
                    self.state[code] = "treated"
                elif status in (401, 404, 409, 422, 429):
                    # Refused before anything was done: a call to look into, nothing owed.
                    self._refused(f"{action} {status} {(said or {}).get('code', '')}")
                    self.state[code] = UNSURE
                else:  # no answer, or 5xx: done or not, nobody knows
                    self.unsure_answers[ref] = code
                    self.figures.answers_unsure += 1
                    self._no_reply(f"{action} {status or 'connection'}")
                    # A first answer is asked again (the life cycle refuses a second one); after
                    # a reopening, a 409 would not tell which answer it refuses: left there.
                    first = action == "answer" and seen in (None, ANSWER_UNSURE)
                    self.state[code] = ANSWER_UNSURE if first else UNSURE

    # -- the citizens ----------------------------------------------------------------------------

    def _reply(self, code: str, emails: dict[str, str]) -> tuple[str, dict] | None:
        """What the citizen of ``code`` sends: (opinion | reopen, payload), or None when they
        let the window pass. After a call with no reply, the same again."""
        if code in self.unsure_replies:
            return self.unsure_replies[code]
        choices = dict(CHOICES)
        if code in self.reopened:
            del choices["reopen"]  # once is enough to follow
        choice = self.random.choices(list(choices), weights=list(choices.values()))[0]
        if choice == "none":
            return None
        payload = {"code": code, "email": emails[code]}
        if choice == "late":
            return "late", payload | {"opinion": "satisfied", "comment": "Un avis au dernier jour."}
        if choice == "reopen":
            payload["message"] = "La réponse ne règle rien : merci de reprendre le dossier."
            return "reopen", payload
        payload |= {"opinion": choice, "comment": "Avis de la campagne de pannes."}
        return "opinion", payload

    def _replied(self, code: str, kind: str, payload: dict) -> None:
        if kind == "reopen":
            self.reopened.add(code)
            self.state[code] = "reopened"
        else:
            self.state[code] = payload["opinion"]

    async def citizens(self) -> None:
        emails: dict[str, str] = {}
        base = self.c.platform.url("gateway") + "/api/v1/tracking"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            while not self.c.stopping.is_set():
                await asyncio.sleep(0.25)
                waiting = [c for c, s in list(self.state.items()) if s in ("treated", REPLY_UNSURE)]
                if not waiting:
                    continue
                if len(emails) < len(self.c.accepted):
                    emails = {code: email for email, code in self.c.accepted.items()}
                code = self.random.choice(waiting)
                reply = self._reply(code, emails)
                if reply is None:
                    await self._age(code)
                    continue
                kind, payload = reply
                close_after = False
                if kind == "late":
                    # The window closed by the clock (sweeping every 2 s) while the opinion is on
                    # its way: the opinion sent within the next sweep or two, or the window
                    # closed as soon as intake recorded it (treatment applies it first unless
                    # it, or the broker, is down).
                    kind = "opinion"
                    close_after = self.random.random() < 0.5
                    if not close_after:
                        await self._age(code, late=True)
                        await asyncio.sleep(self.random.uniform(0, 3))
                self.figures.replies_sent += 1
                try:
                    async with http.post(f"{base}/{kind}", json=payload) as resp:
                        status = resp.status
                        body = await resp.json(content_type=None)
                except (aiohttp.ClientError, TimeoutError, ValueError):
                    status, body = 0, None
                error = (body or {}).get("error", "")
                if status == 202:
                    self.unsure_replies.pop(code, None)
                    self.accepted_replies[(code, kind)] += 1
                    self.figures.replies_accepted[kind] = (
                        self.figures.replies_accepted.get(kind, 0) + 1
                    )
                    self._replied(code, kind, payload)
                    if close_after:
                        await self._age(code, late=True)
                elif status == 409 and error == "closed" and code in self.late:
                    self.figures.late_refused_by_intake += 1  # the closure came first
                    self.state[code] = "closed"
                elif status == 409 and error == "not_answered":
                    continue  # intake has not read the answer yet: later
                elif status == 409 and error == "already_reopened" and code in self.reopened:
                    continue  # nor the answer to the reopening: later
                elif status == 409 and code in self.unsure_replies and error.startswith("already"):
                    # Sent again after no reply: the first one was recorded.
                    del self.unsure_replies[code]
                    self._replied(code, kind, payload)
                elif status in (404, 409, 422, 429):
                    self._refused(f"{kind} {status} {error}")
                    self.unsure_replies.pop(code, None)
                    self.state[code] = UNSURE
                else:  # the citizen, with no reply, clicks again later
                    self.figures.replies_unsure += 1
                    self._no_reply(f"{kind} {status or 'connection'}")
                    self.unsure_replies[code] = (kind, payload)
                    self.state[code] = REPLY_UNSURE

    def _refused(self, what: str) -> None:
        self.figures.refused[what] = self.figures.refused.get(what, 0) + 1

    def _no_reply(self, what: str) -> None:
        self.figures.no_reply[what] = self.figures.no_reply.get(what, 0) + 1

    async def _age(self, code: str, *, late: bool = False) -> None:
        """The citizen never replies: the window's last day moved into the past, for treatment's
        clock to close the request « sans retour »."""
        try:
            conn = await asyncpg.connect(self.c.database_url)
            try:
                aged = await conn.fetchval(
                    """UPDATE treatment.treatments SET opinion_due = current_date - 3
                       WHERE code = $1 AND status = 'treated' RETURNING true""",
                    code,
                )
            finally:
                await conn.close()
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            aged = False  # the database restarting: another time (or never, for this one)
        if aged:
            self.aged.add(code)
            self.state[code] = "left"
            if late:
                self.late.add(code)
                self.figures.late_opinions += 1
                self.state[code] = "late"
            else:
                self.figures.left_to_the_clock += 1

    # -- the end ---------------------------------------------------------------------------------

    async def settled(self, conn: asyncpg.Connection) -> bool:
        """Nothing of this half left to do: every request left to the clock closed, every
        reply intake recorded either applied or refused in treatment."""
        closed = await conn.fetchval(
            "SELECT count(*) FROM treatment.treatments WHERE code = ANY($1) AND status = 'closed'",
            list(self.aged),
        )
        if closed < len(self.aged):
            return False
        unread = await conn.fetchval(
            """SELECT count(*) FROM intake.citizen_replies r
               WHERE NOT EXISTS (SELECT 1 FROM treatment.inbox i WHERE i.message_id = r.id)"""
        )
        return unread == 0

    async def check(self, conn: asyncpg.Connection, sink, lost: dict, duplicated: dict) -> None:
        f = self.figures
        answered = {**self.answers, **self.unsure_answers}
        rows = await conn.fetch(
            """SELECT btrim(t.code) AS code, a.kind, a.answered_at,
                      substring(a.message FROM 'réf\\. ([0-9a-f]{12})') AS ref
               FROM treatment.answers a JOIN treatment.treatments t USING (request_id)
               WHERE a.message LIKE 'Réponse de l''organisme (campagne de pannes, réf.%'"""
        )
        by_ref = Counter(row["ref"] for row in rows)
        lost["answer"] = sum(1 for ref in self.answers if by_ref[ref] == 0)
        duplicated["answer"] = sum(1 for ref in answered if by_ref[ref] > 1)
        # One answer per turn: the first, then one after each reopening (the life cycle's table).
        turns = Counter(
            {
                row["code"]: row["n"]
                for row in await conn.fetch(
                    """SELECT btrim(t.code) AS code, count(*) AS n FROM treatment.reopenings o
                       JOIN treatment.treatments t USING (request_id) GROUP BY 1"""
                )
            }
        )
        given = Counter(row["code"] for row in rows if row["kind"] == "treated")
        duplicated["answer in one turn"] = sum(
            1 for code, n in given.items() if n > 1 + turns[code]
        )
        # Each answer treatment holds, once in intake's history (the citizen's tracking page).
        in_intake = Counter(
            {
                (row["code"].strip(), row["occurred_at"]): row["n"]
                for row in await conn.fetch(
                    """SELECT r.code, h.occurred_at, count(*) AS n FROM intake.request_history h
                       JOIN intake.requests r ON r.id = h.request_id
                       WHERE h.event_type IN ('request.treated', 'request.citizen_answered')
                       GROUP BY 1, 2"""
                )
            }
        )
        lost["answer in intake's history"] = sum(
            1 for row in rows if in_intake[(row["code"], row["answered_at"])] == 0
        )
        duplicated["answer in intake's history"] = sum(
            1 for row in rows if in_intake[(row["code"], row["answered_at"])] > 1
        )

        # The citizen's replies: each 202 recorded by intake; each recorded one applied once.
        recorded = await conn.fetch(
            """SELECT btrim(r.code) AS code, c.id, c.kind, c.opinion, c.recorded_at,
                      (SELECT count(*) FROM treatment.history h
                       WHERE h.request_id = c.request_id AND h.occurred_at = c.recorded_at
                         AND h.kind = CASE c.kind WHEN 'opinion' THEN 'opinion_given'
                                                  ELSE 'reopened' END) AS lines,
                      (CASE c.kind WHEN 'opinion' THEN
                          (SELECT count(*) FROM treatment.opinions o
                           WHERE o.request_id = c.request_id AND o.given_at = c.recorded_at)
                       ELSE (SELECT count(*) FROM treatment.reopenings o
                             WHERE o.request_id = c.request_id
                               AND o.reopened_at = c.recorded_at) END) AS kept,
                      (SELECT count(*) FROM treatment.outbox o
                       WHERE o.message_type = $1
                         AND o.body->>'code' = btrim(r.code)
                         AND (o.body->>'recorded_at')::timestamptz = c.recorded_at) AS refused
               FROM intake.citizen_replies c JOIN intake.requests r ON r.id = c.request_id""",
            RequestCitizenReplyRefusedV1.type_name(),
        )
        per_code = Counter(
            (row["code"].strip(), "opinion" if row["kind"] == "opinion" else "reopen")
            for row in recorded
        )
        lost["citizen's reply recorded by intake"] = sum(
            max(0, n - per_code[key]) for key, n in self.accepted_replies.items()
        )
        f.replies_refused_by_treatment = sum(1 for row in recorded if row["refused"])
        lost["citizen's reply applied by treatment"] = sum(
            1 for row in recorded if row["lines"] == 0 and not row["refused"]
        )
        duplicated["citizen's reply applied by treatment"] = sum(
            1
            for row in recorded
            if row["lines"] > 1 or row["kept"] > 1 or (row["lines"] and row["refused"])
        )
        lost["citizen's reply kept by treatment"] = sum(
            1 for row in recorded if row["lines"] and not row["kept"]
        )
        # A refusal told to the citizen: once in intake's history (the tracking page).
        told = Counter(
            {
                row["code"]: row["n"]
                for row in await conn.fetch(
                    """SELECT btrim(r.code) AS code, count(*) AS n FROM intake.request_history h
                       JOIN intake.requests r ON r.id = h.request_id
                       WHERE h.event_type = 'request.citizen_reply_refused' GROUP BY 1"""
                )
            }
        )
        refusals = Counter()
        for row in recorded:
            refusals[row["code"]] += row["refused"]
        lost["refusal told in the tracking view"] = sum(
            max(0, n - told[code]) for code, n in refusals.items()
        )
        duplicated["refusal told in the tracking view"] = sum(
            max(0, told[code] - refusals[code]) for code in told
        )

        # The same status, opinion and ending in treatment, intake and stats.
        states = await conn.fetch(
            """SELECT btrim(t.code) AS code, t.status, t.opinion, t.treated_at,
                      i.status AS intake_status, rt.treated_at AS intake_treated_at,
                      rt.citizen_opinion AS intake_opinion,
                      f.status AS stats_status, f.outcome AS stats_outcome,
                      o.opinion AS stats_opinion,
                      (SELECT count(*) FROM treatment.history h
                       WHERE h.request_id = t.request_id AND h.kind = 'closed') AS clock_lines
               FROM treatment.treatments t
               JOIN intake.requests i ON i.id = t.request_id
               LEFT JOIN intake.request_tracking rt ON rt.request_id = t.request_id
               LEFT JOIN stats.request_facts f ON f.request_id = t.request_id
               LEFT JOIN stats.request_opinions o ON o.request_id = t.request_id
               WHERE t.treated_at IS NOT NULL"""
        )
        lost["answer in the tracking view"] = sum(
            1
            for s in states
            if s["intake_status"] != s["status"] or s["intake_treated_at"] != s["treated_at"]
        )
        lost["opinion in the tracking view"] = sum(
            1 for s in states if s["intake_opinion"] != s["opinion"]
        )
        lost["treatment's status in stats"] = sum(
            1 for s in states if s["stats_status"] != s["status"]
        )
        ending = {
            s["code"]: (s["opinion"] or "none") if s["status"] == "closed" else None for s in states
        }
        lost["ending in stats"] = sum(1 for s in states if s["stats_outcome"] != ending[s["code"]])
        lost["opinion in stats"] = sum(1 for s in states if s["stats_opinion"] != s["opinion"])
        f.closed_by_the_clock = sum(1 for s in states if s["clock_lines"] == 1)
        lost["closed by the clock"] = sum(
            1 for s in states if s["code"] in self.aged and s["status"] != "closed"
        )
        duplicated["closed by the clock"] = sum(1 for s in states if s["clock_lines"] > 1)

        # Stats' own counters against its facts, and the figures against treatment's rows.
        opinions_counted = await conn.fetchval(
            "SELECT coalesce(sum(count), 0) FROM stats.opinion_counts"
        )
        opinions_kept = await conn.fetchval("SELECT count(*) FROM stats.request_opinions")
        endings_counted = await conn.fetchval(
            "SELECT coalesce(sum(count), 0) FROM stats.outcome_counts"
        )
        endings_kept = await conn.fetchval(
            "SELECT count(*) FROM stats.request_facts WHERE outcome IS NOT NULL"
        )
        duplicated["statistics opinion count"] = max(0, opinions_counted - opinions_kept)
        lost["statistics opinion count"] = max(0, opinions_kept - opinions_counted)
        duplicated["statistics ending count"] = max(0, endings_counted - endings_kept)
        lost["statistics ending count"] = max(0, endings_kept - endings_counted)
        answered_now = ("treated", "closed")
        f.counts = {
            "treated or closed": (
                sum(1 for s in states if s["status"] in answered_now),
                await conn.fetchval(
                    """SELECT coalesce(sum(count), 0) FROM stats.daily_counts
                       WHERE status = ANY($1)""",
                    list(answered_now),
                ),
            ),
            "satisfied": (
                sum(1 for s in states if s["opinion"] == "satisfied"),
                await conn.fetchval(
                    """SELECT coalesce(sum(count), 0) FROM stats.opinion_counts
                       WHERE opinion = 'satisfied'"""
                ),
            ),
            "not satisfied": (
                sum(1 for s in states if s["opinion"] == "not_satisfied"),
                await conn.fetchval(
                    """SELECT coalesce(sum(count), 0) FROM stats.opinion_counts
                       WHERE opinion = 'not_satisfied'"""
                ),
            ),
            "« sans retour »": (
                sum(1 for s in states if s["status"] == "closed" and s["opinion"] is None),
                await conn.fetchval(
                    """SELECT coalesce(sum(count), 0) FROM stats.outcome_counts
                       WHERE outcome = 'none'"""
                ),
            ),
        }
        for what, (theirs, counted) in f.counts.items():
            lost[f"statistics: {what}"] = max(0, theirs - counted)
            duplicated[f"statistics: {what}"] = max(0, counted - theirs)

        # « … a été traitée »: one email per answer treatment holds (a further answer has its
        # own subject), by Message-ID; the same Message-ID received twice is counted apart.
        sent: dict[str, Counter[str]] = {}
        for messages in sink.by_recipient.values():
            for _, data in messages:
                mail = message_from_bytes(data, policy=policy.default)
                subject = str(mail.get("Subject", ""))
                if subject.endswith("a été traitée") and "n° " in subject:
                    code = subject.split("n° ", 1)[1].split(" ", 1)[0]
                    sent.setdefault(code, Counter())[mail.get("Message-ID", "")] += 1
        treated_answers = Counter(row["code"] for row in rows if row["kind"] == "treated")
        lost["answer email"] = sum(
            max(0, n - len(sent.get(code, ()))) for code, n in treated_answers.items()
        )
        duplicated["answer email (two deliveries)"] = sum(
            max(0, len(sent.get(code, ())) - n) for code, n in treated_answers.items()
        )
        f.answer_emails_twice = sum(n - 1 for ids in sent.values() for n in ids.values() if n > 1)

        # Every event of treatment's that tells the citizen something (an answer, a further
        # answer, a reopening received, a closure « sans retour », a reply not applied): one
        # email delivery in notify, and that delivery's Message-ID received.
        received: Counter[str] = Counter()
        for messages in sink.by_recipient.values():
            for _, data in messages:
                mid = message_from_bytes(data).get("Message-ID", "")
                received[mid.strip().strip("<>").split("@", 1)[0]] += 1
        told = await conn.fetch(
            """SELECT o.message_type,
                      array_agg(d.id::text) FILTER (WHERE d.id IS NOT NULL) AS deliveries
               FROM treatment.outbox o
               LEFT JOIN notify.deliveries d
                 ON d.about_message_id = o.message_id AND d.medium = 'email'
               WHERE o.message_type = ANY($1) AND o.body->>'opinion' IS NULL
               GROUP BY o.message_id, o.message_type""",
            [t.type_name() for t in TOLD],
        )
        f.told_by_email = dict(Counter(row["message_type"].rsplit(".", 1)[0] for row in told))
        lost["citizen told by email (treatment's events)"] = sum(
            1
            for row in told
            if not row["deliveries"] or not all(received[d] for d in row["deliveries"])
        )
        duplicated["citizen told by email (treatment's events)"] = sum(
            1 for row in told if len(row["deliveries"] or ()) > 1
        )
        f.told_emails_twice = sum(
            received[d] - 1 for row in told for d in row["deliveries"] or () if received[d] > 1
        )


def rows(f: TreatmentFigures) -> list[str]:
    """The table's lines of this half (bench.faults.table)."""
    replies = ", ".join(f"{k} {v}" for k, v in sorted(f.replies_accepted.items())) or "none"
    counts = ", ".join(f"{k} {a} / {b}" for k, (a, b) in f.counts.items())
    return [
        f"| answers sent / accepted / no reply (ministry API) | {f.answers_sent} /"
        f" {f.answers_accepted} / {f.answers_unsure} |",
        f"| citizens' replies sent / accepted ({replies}) / no reply | {f.replies_sent} /"
        f" {sum(f.replies_accepted.values())} / {f.replies_unsure} |",
        "| replies refused by treatment (told to the citizen) |"
        f" {f.replies_refused_by_treatment} |",
        f"| left without opinion + opinion sent as the window closed / closed « sans retour » by"
        f" the clock | {f.left_to_the_clock} + {f.late_opinions} / {f.closed_by_the_clock} |",
        "| opinions sent as the window closed: refused by intake (closed already) |"
        f" {f.late_refused_by_intake} |",
        f"| requests counted in treatment / in stats | {counts} |",
        f"| answer emails received twice (same Message-ID) | {f.answer_emails_twice} |",
        f"| treatment's events told by email | {f.told_by_email or 'none'} |",
        f"| those emails received twice (same Message-ID) | {f.told_emails_twice} |",
        f"| answers and replies refused (by answer) | {f.refused or 'none'} |",
        f"| answers and replies with no reply (by answer) | {f.no_reply or 'none'} |",
    ]
