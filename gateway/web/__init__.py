"""Web plumbing every part of the gateway uses: app keys, errors and the « service indisponible »
page, CSRF, the client's address, lists and exports, the submission form's fields (which the
citizen's form and the call centre's share), the development mailbox. The settings are the
gateway's own (``gateway.settings``), as every process's are."""
