"""« Administration › Catalogue », one module per kind of row: the administrators keep
intake's catalogue — public bodies (name, acronym, telephones, email, address, hours), the
themes offered for each, themes and sub-themes, places — through intake's catalogue API
(``gateway.clients.intake``).

Nothing is ever deleted: a body, theme or place is *retired* (``active`` false), so that the
requests naming it keep it, and the citizens are no longer offered it. « Autre » is offered for
every body, whatever its list (intake's ``OTHER_THEME``), and cannot be retired.

Every change is one line of the gateway's audit log (« Journal d'audit »): who, when, from where,
the row (« organisme <id> », « thème <id> », « lieu <id> ») and what changed, field by field.
Intake's rows carry ``edited_at`` too (when the data files stop overwriting them).
"""
