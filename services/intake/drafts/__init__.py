"""The citizen's draft between « Soumettre votre requête » and « OK »: its rules and rows
(``store``) and its HTTP API (``api``)."""
