"""What `PliApp.attempt` returns when the action failed (the user has been told why).

A module of its own so that the screens can test for it without importing the app,
which imports them: no cycle.
"""

FAILED = object()
