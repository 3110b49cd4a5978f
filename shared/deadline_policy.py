"""The deadline policy: how many working days each deadline gives, per nature and per body — the
one home of the rule that treatment (which owns the policy), triage and intake (which keep a copy
from ``deadlines.policy_changed``) all apply. Pure: no I/O.

A value for a nature is the default of every body; a value for (nature, body) overrides it for
that body; without either, chikaya.ma's defaults (15 working days for admissibility, 60 for the
answer) and the opinion window of treatment's clock (30 days). The answer and the opinion
deadlines concern only the natures the body answers (réclamation, demande d'information).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from shared.messages import DeadlineKind, DeadlineRule, Nature
from shared.numbers import MOST_DIGITS
from shared.web import FieldError, field_error

MAX_DAYS = 365
DEFAULTS: dict[DeadlineKind, int] = {
    DeadlineKind.ADMISSIBILITY: 15,
    DeadlineKind.ANSWER: 60,
    DeadlineKind.OPINION: 30,
}
KIND_LABELS: dict[DeadlineKind, str] = {
    DeadlineKind.ADMISSIBILITY: "Décision sur la recevabilité (analystes)",
    DeadlineKind.ANSWER: "Réponse de l'organisme",
    DeadlineKind.OPINION: "Avis de l'usager sur la réponse",
}

Key = tuple[DeadlineKind, Nature, str | None]  # (kind, nature, body_id or None)


def applies(kind: DeadlineKind, nature: Nature) -> bool:
    """Whether ``kind`` is a deadline of requests of ``nature``: the analysts rule on every
    request; only the natures the body answers have an answer and an opinion."""
    return kind == DeadlineKind.ADMISSIBILITY or nature.needs_treatment


@dataclass(frozen=True)
class Policy:
    """The values set, by (kind, nature, body_id or None)."""

    values: Mapping[Key, int]

    @classmethod
    def of(cls, rules: Iterable[DeadlineRule]) -> Policy:
        return cls({(r.kind, r.nature, r.body_id or None): r.days for r in rules})

    def value(
        self, kind: DeadlineKind | str, nature: Nature | str, body_id: str | None
    ) -> int | None:
        """The value an administrator set for a request of ``nature`` at ``body_id`` (the
        body's, else the nature's); None when neither is set."""
        kind, nature = DeadlineKind(kind), Nature(nature)
        for key in ((kind, nature, body_id or None), (kind, nature, None)):
            if key in self.values:
                return self.values[key]
        return None

    def days(
        self,
        kind: DeadlineKind | str,
        nature: Nature | str,
        body_id: str | None,
        default: int | None = None,
    ) -> int:
        """Working days of the deadline ``kind`` for a request of ``nature`` at ``body_id``:
        the value set, else ``default``, else chikaya.ma's (:data:`DEFAULTS`)."""
        value = self.value(kind, nature, body_id)
        if value is not None:
            return value
        return default if default is not None else DEFAULTS[DeadlineKind(kind)]

    def rules(self) -> list[DeadlineRule]:
        return [
            DeadlineRule(kind=k, nature=n, body_id=b, days=d)
            for (k, n, b), d in sorted(self.values.items(), key=lambda i: _order(i[0]))
        ]

    def bodies(self) -> set[str]:
        return {b for (_, _, b) in self.values if b}

    def with_value(self, key: Key, days: int | None) -> Policy:
        """The policy with ``key`` set to ``days`` (None: removed)."""
        values = dict(self.values)
        if days is None:
            values.pop(key, None)
        else:
            values[key] = days
        return Policy(values)


def _order(key: Key) -> tuple[int, int, str]:
    kind, nature, body = key
    return (list(Nature).index(nature), list(DeadlineKind).index(kind), body or "")


def parse_days(raw: object, field: str = "days") -> tuple[int | None, list[FieldError]]:
    """A number of working days as typed or sent: a whole number from 1 to MAX_DAYS."""
    if isinstance(raw, bool):
        raw = None
    if isinstance(raw, str):
        raw = raw.strip()
        digits = raw[1:] if raw.startswith("-") else raw
        # ASCII digits only: str.isdigit admits « ² », which int refuses, and « ١٢ », which it
        # reads. Past MOST_DIGITS, int may refuse the string: a number, far too large anyway.
        if digits.isascii() and digits.isdigit():
            if len(digits.lstrip("0")) > MOST_DIGITS:
                raw = -(MAX_DAYS + 1) if raw.startswith("-") else MAX_DAYS + 1
            else:
                raw = int(raw)
    if not isinstance(raw, int):
        message = "Un nombre entier de jours ouvrés (par exemple 15)."
        return None, [field_error(field, message, "not_an_integer")]
    if raw < 1:
        message = "Un délai compte au moins 1 jour ouvré."
        return None, [field_error(field, message, "too_small" if raw == 0 else "negative")]
    if raw > MAX_DAYS:
        message = f"{MAX_DAYS} jours ouvrés au plus."
        return None, [field_error(field, message, "too_large")]
    return raw, []


def problems(policy: Policy) -> list[FieldError]:
    """What makes ``policy`` unusable: an answer deadline shorter than the admissibility one for
    some nature, for its default or for one body; a value for a deadline the nature has not."""
    errors: list[FieldError] = []
    for kind, nature, _ in policy.values:
        if not applies(kind, nature):
            errors.append(
                field_error(
                    "kind",
                    f"Une {nature.label.lower()} n'attend pas de réponse de l'organisme : "
                    "seul le délai de recevabilité s'y applique.",
                    "not_applicable",
                )
            )
    for nature in Nature:
        if not nature.needs_treatment:
            continue
        for body in (None, *sorted(policy.bodies())):
            answer = policy.days(DeadlineKind.ANSWER, nature, body)
            admissibility = policy.days(DeadlineKind.ADMISSIBILITY, nature, body)
            if answer < admissibility:
                where = f" pour l'organisme {body}" if body else ""
                errors.append(
                    field_error(
                        "days",
                        f"{nature.label}{where} : le délai de réponse ({answer} jours) ne peut "
                        f"être plus court que celui de recevabilité ({admissibility} jours).",
                        "answer_shorter_than_admissibility",
                    )
                )
                return errors
    return errors
