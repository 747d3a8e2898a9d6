"""Waiting in Pilot tests for what the app does in threads."""
from textual.worker import WorkerCancelled, WorkerState

RUNNING = (WorkerState.PENDING, WorkerState.RUNNING)


async def workers_done(app) -> None:
    """Every worker of the moment ended.  One that was cancelled counts: a dialog closing once its worker
    has reported cancels that finished worker, and under load this can come before the worker's own end
    is recorded (CI saw WorkerCancelled).  A worker that failed still fails the test."""
    for worker in list(app.workers):
        try:
            await worker.wait()
        except WorkerCancelled:
            pass


async def settle(app, pilot, rounds: int = 300) -> None:
    """Until no worker runs and what they sent back is shown: compose's look-ups (modes, matches,
    completion), a send, an export, and the workers those start in turn (the outbox flush after a seal),
    which a single `wait_for_complete` misses: it waits only for the workers running when it is called."""
    for _ in range(rounds):
        await pilot.pause()
        await workers_done(app)
        await pilot.pause()
        if not any(worker.state in RUNNING for worker in app.workers):
            return
