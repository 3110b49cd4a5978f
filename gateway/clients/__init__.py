"""The gateway's calls to the services: one typed client per service on one signed transport
(``transport``); pages call a client's methods, never a path."""
