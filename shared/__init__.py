"""What every Miliê process shares: settings, database, broker, outbox/inbox, contracts, web."""
