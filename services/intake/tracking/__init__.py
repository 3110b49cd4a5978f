"""Following a request: the view kept from events (``view``, pure; ``store``, its rows), the
look-up, rewrite and « Code requête oublié ? » (``reminders``) over HTTP (``api``)."""
