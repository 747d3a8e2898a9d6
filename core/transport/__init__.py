"""Moving sealed mail: SMTP submission with a durable outbox, IMAP fetch, and the receiving gateway.

    pli send / pli send flush     outbox.py (the queue) + submission.py (SMTP, TLS, AUTH)
    pli fetch                       fetch.py (IMAP, UID tracking) then the store's pickup
    pli gateway serve               gateway.py (aiosmtpd): accepts only sealed, signed mail
                                    + smtp_server.py (cheaper SMTP reading), decisions.py (the trace
                                    of every answer), delivery.py, workers.py (--workers N)
Accounts live in the home's config.toml (accounts.py); docs/TRANSPORT.md has the deployment.
"""
