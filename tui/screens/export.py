"""The export dialog: the selected messages' lab reports into a folder (FHIR JSON or HPRIM files), in a thread.

The work is pli.core.lab.export_folder's (one file per report, never one
replaced); this screen chooses the format and the folder, runs it in a thread
worker with its own index handle (a notmuch handle is not shared across
threads), shows how far it is, and says what it did: thousands of selected
messages must not freeze the interface.  Escape during the export stops it
after the message in hand; the files already written stay, and are traced.
"""
from __future__ import annotations

import time
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioButton, RadioSet
from textual.worker import Worker, WorkerState, get_current_worker

from pli.core.plural import counted

PROGRESS_EVERY = 0.1   # seconds between two progress lines: each is a round trip to the UI thread


class ExportScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel / stop the export")]

    def __init__(self, targets: list) -> None:
        super().__init__()
        self.targets = targets
        self.worker: Worker | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Export the lab reports of {counted(len(self.targets), 'message')}")
            with RadioSet(id="export-format"):
                yield RadioButton("FHIR R4 (JSON bundle)", value=True, id="fhir")
                yield RadioButton("HPRIM", id="hprim")
            yield Label("into folder (enter exports):")
            yield Input(str(Path.cwd() / "pli-export"), id="export-folder")
            yield Label("", id="export-progress")

    def on_mount(self) -> None:
        self.query_one("#export-folder", Input).focus()

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.state in (WorkerState.PENDING, WorkerState.RUNNING)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.worker is not None:
            return  # one export per dialog: a second enter must not start another
        pressed = self.query_one(RadioSet).pressed_button
        fmt = pressed.id if pressed is not None else "fhir"
        folder = Path(event.value).expanduser()
        ids = [summary.message_id for summary in self.targets]
        self._lock(True)
        self.show_progress(0, len(ids))
        app = self.app  # the thread holds the app itself: a screen's `app` is gone once it closes
        self.worker = self.run_worker(lambda: self._export(app, ids, fmt, folder), thread=True,
                                      group="export", exit_on_error=False)

    def action_cancel(self) -> None:
        if self.worker is None:
            self.dismiss(None)
        elif self.running:
            self.worker.cancel()  # the thread sees it before the next message, then reports
            self.query_one("#export-progress", Label).update("stopping…")

    # -- in the worker thread -----------------------------------------------

    def _export(self, app, ids: list[str], fmt: str, folder: Path) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.core.lab.export_folder import ExportFolderError, export_to_folder
        from pli.core.store.store import Store

        worker = get_current_worker()
        last_shown = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal last_shown
            now = time.monotonic()
            if now - last_shown >= PROGRESS_EVERY or done == total:
                last_shown = now
                self._to_ui(app, self.show_progress, done, total)

        store = Store(app.store.layout, writable=False)  # this thread's own index handle
        try:
            result = export_to_folder(store, ids, fmt, folder, progress=progress,
                                      stopped=lambda: worker.is_cancelled)
        except ExportFolderError as error:
            self._trace(app, error.partial, fmt)
            self._to_ui(app, self._failed, str(error), error.partial)
            return
        except Exception as error:  # noqa: BLE001 - the UI's last line of defence: no traceback
            self._to_ui(app, self._failed, f"export failed ({type(error).__name__}); please report it", None)
            return
        finally:
            store.close()
        self._trace(app, result, fmt)
        self._to_ui(app, self._finished, result, fmt, folder)

    def _trace(self, app, result, fmt: str) -> None:
        """The exported steps, written from this thread before the UI is told: quitting during
        an export stops it, and the files it wrote must still be in the trace."""
        if result.message_ids:
            try:
                app.trace_from_thread("exported", result.message_ids, target=fmt)
            except Exception:  # noqa: BLE001 - the trace says its own failures; the export is done
                pass

    def _to_ui(self, app, callback, *args) -> None:
        try:
            app.call_from_thread(callback, *args)
        except Exception:  # noqa: BLE001 - the app quit meanwhile: nobody left to tell
            pass

    # -- back on the UI thread ----------------------------------------------

    def show_progress(self, done: int, total: int) -> None:
        if self.worker is not None and self.worker.is_cancelled:
            return  # "stopping…" stays until the thread reports
        self.query_one("#export-progress", Label).update(f"exporting {done:,} / {total:,}…")

    def _finished(self, result, fmt: str, folder: Path) -> None:
        self.app.notify(result.summary(fmt, folder), title="Export",
                        severity="warning" if result.unreadable or result.stopped else "information",
                        timeout=10)
        self.dismiss(None)

    def _failed(self, message: str, partial) -> None:
        """The folder cannot take it: say why, keep the dialog open to choose another folder."""
        if partial is not None and partial.files:
            message += f" ({counted(partial.files, 'report')} written before stay there)"
        self.app.notify(message, title="Export", severity="error", timeout=12)
        self.worker = None
        self._lock(False)
        self.query_one("#export-progress", Label).update("")
        self.query_one("#export-folder", Input).focus()  # disabled, it lost the focus: enter retries

    def _lock(self, locked: bool) -> None:
        self.query_one("#export-folder", Input).disabled = locked
        self.query_one(RadioSet).disabled = locked
