"""The catalogue (public bodies, themes, places): its data files (``files``, the JSON beside
it), the copy kept in memory (``cache``), its SQL (``repository``), its HTTP API (``api``)."""
