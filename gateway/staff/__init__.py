"""Staff accounts and sessions: accounts, passwords, sessions, sign-in and its throttle, the
audit log, and the account use cases the back office and ``milie users`` share."""
