"""Waiting in Pilot tests for what the app does in threads."""
from textual.worker import WorkerState

RUNNING = (WorkerState.PENDING, WorkerState.RUNNING)


async def settle(app, pilot, rounds: int = 300) -> None:
    """Until no worker runs and what they sent back is shown: compose's look-ups (modes, matches,
    completion), a send, and the workers those start in turn (the outbox flush after a seal), which a
    single `wait_for_complete` misses, since it waits only for the workers running when it is called."""
    for _ in range(rounds):
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not any(worker.state in RUNNING for worker in app.workers):
            return
