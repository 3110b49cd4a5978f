"""A body's month told in events, as triage and treatment publish them: the stats tests and the
focal point's dashboard pages feed it to the stats service and read the counters it leads to.

``BODY`` receives, on ``DAY`` (in November 2026), ten requests past the analysts and two that
never reach it (still waiting, rejected), plus one older request still in treatment (``OLD_DAY``,
October); ``OTHER`` receives two. Each event is published twice with the same message id (a
redelivery): every count must move once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.messages import (
    Actor,
    Nature,
    Opinion,
    RequestAssignedV1,
    RequestClosedV1,
    RequestOpinionGivenV1,
    RequestPutOnHoldV1,
    RequestRejectedV1,
    RequestReopenedV1,
    RequestTreatedV1,
)
from tests.support import publish_event, submitted_event, validated_event

BODY, BODY_NAME = "ministere-budget", "Ministère du budget et du Portefeuille de l'Etat"
OTHER, OTHER_NAME = "ministere-justice", "Ministère de la Justice et des Droits de l'Homme"
DAY = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
OLD_DAY = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
PERIOD = ("2026-11-01", "2026-11-30")
ANALYST = Actor(staff_id="an-1", role="analyst")

# The counters of BODY over PERIOD once every phase is applied (services/stats/body_dashboard.py
# says what each one counts), and « À traiter » now.
EXPECTED = {
    "total": 10,
    "validated": {
        "reclamation": {"count": 6, "percent": 60},
        "suggestion": {"count": 1, "percent": 10},
        "observation": {"count": 2, "percent": 20},
        "motion_felicitations": {"count": 0, "percent": 0},
        "demande_information": {"count": 1, "percent": 10},
    },
    "to_treat": 3,  # on hold, reopened, the demande d'information not yet answered
    "treated": 4,  # two with an opinion, one « sans retour », one awaiting its opinion
    "opinions_expected": 1,
    "opinions_given": 2,
    "by_opinion": {"satisfied": 1, "partly_satisfied": 0, "not_satisfied": 1},
    "dissatisfied": 1,
    "without_opinion": 1,
    "held": 1,
    "reopened": 1,
    "waiting": 4,  # the three to treat and the October one
    "waiting_by_status": {"validated": 0, "in_treatment": 2, "on_hold": 1, "reopened": 1},
}
# After the analysts' decisions alone: every réclamation and the demande d'information to treat.
AFTER_VALIDATION = {"total": 10, "to_treat": 7, "treated": 0, "opinions_given": 0, "waiting": 8}
# After the answers and the hold, before the citizens' replies.
AFTER_ANSWERS = {"to_treat": 2, "treated": 5, "opinions_expected": 5, "held": 1, "waiting": 3}


@dataclass
class Story:
    amqp_url: str
    namespace: str
    ids: dict[str, uuid.UUID] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)
    published: int = 0  # distinct messages
    redelivered: int = 0

    async def publish(self, event) -> None:
        message_id = await publish_event(self.amqp_url, self.namespace, event)
        await publish_event(self.amqp_url, self.namespace, event, message_id=message_id)
        self.published += 1
        self.redelivered += 1

    def common(self, name: str, body: str = BODY) -> dict:
        return {"request_id": self.ids[name], "code": self.codes[name], "body_id": body}

    def actor(self, body: str = BODY) -> Actor:
        return Actor(staff_id=f"pf-{body}", role="focal-point", body_id=body)

    # -- the phases ----------------------------------------------------------------------------

    async def submissions(self) -> None:
        """r1…r6 réclamations, r7 a demande d'information, r8 a suggestion, r9 r10 observations,
        r11 a motion left with the analysts, r12 a réclamation rejected, old (October); o1 o2
        to OTHER."""
        natures = {
            **{f"r{i}": Nature.RECLAMATION for i in range(1, 7)},
            "r7": Nature.DEMANDE_INFORMATION,
            "r8": Nature.SUGGESTION,
            "r9": Nature.OBSERVATION,
            "r10": Nature.OBSERVATION,
            "r11": Nature.MOTION,
            "r12": Nature.RECLAMATION,
            "old": Nature.RECLAMATION,
            "o1": Nature.RECLAMATION,
            "o2": Nature.RECLAMATION,
        }
        self.events = {}
        for name, nature in natures.items():
            other = name.startswith("o") and name != "old"
            event = submitted_event(
                nature=nature,
                body_id=OTHER if other else BODY,
                body_name=OTHER_NAME if other else BODY_NAME,
                submitted_at=OLD_DAY if name == "old" else DAY,
            )
            self.ids[name], self.codes[name] = event.request_id, event.code
            self.events[name] = event
            await self.publish(event)

    async def decisions(self) -> None:
        for name, event in self.events.items():
            if name == "r11":
                continue
            if name == "r12":
                await self.publish(
                    RequestRejectedV1(
                        request_id=event.request_id,
                        code=event.code,
                        reason="Hors du champ de l'Observatoire.",
                        actor=ANALYST,
                        decided_at=DAY,
                    )
                )
                continue
            await self.publish(validated_event(event, actor=ANALYST, decided_at=DAY))

    async def answers(self) -> None:
        """r1…r4 and r6 answered (r1 taken in charge first), r5 put on hold; o2 answered."""
        await self.publish(
            RequestAssignedV1(
                **self.common("r1"), assignee_id="pf-1", actor=self.actor(), assigned_at=LATER
            )
        )
        for name in ("r1", "r2", "r3", "r4", "r6"):
            await self.publish(
                RequestTreatedV1(
                    **self.common(name),
                    message="Réponse du ministère.",
                    actor=self.actor(),
                    treated_at=LATER,
                )
            )
        await self.publish(
            RequestPutOnHoldV1(
                **self.common("r5"), reason="Pièce attendue.", actor=self.actor(), held_at=LATER
            )
        )
        await self.publish(
            RequestTreatedV1(
                **self.common("o2", OTHER),
                message="Réponse.",
                actor=self.actor(OTHER),
                treated_at=LATER,
            )
        )

    async def replies(self) -> None:
        """r1 « Non satisfait », r2 « Satisfait » (then the closure naming it), r3 closed « sans
        retour », r6 reopened; o2 « Non satisfait »."""
        given = {"r1": Opinion.NOT_SATISFIED, "r2": Opinion.SATISFIED}
        for name, opinion in given.items():
            await self.publish(
                RequestOpinionGivenV1(**self.common(name), opinion=opinion, given_at=LATER)
            )
        await self.publish(
            RequestClosedV1(**self.common("r2"), opinion=Opinion.SATISFIED, closed_at=LATER)
        )
        await self.publish(RequestClosedV1(**self.common("r3"), closed_at=LATER))
        await self.publish(
            RequestReopenedV1(**self.common("r6"), message="Toujours rien.", reopened_at=LATER)
        )
        await self.publish(
            RequestOpinionGivenV1(
                **self.common("o2", OTHER), opinion=Opinion.NOT_SATISFIED, given_at=LATER
            )
        )


def subset(counters: dict, expected: dict) -> bool:
    return all(counters.get(k) == v for k, v in expected.items())
