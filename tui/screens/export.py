"""Export the selected messages' lab reports to the medical record (FHIR JSON or HPRIM files)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, RadioButton, RadioSet

from pli.core.errors import PliError


@dataclass(frozen=True)
class Exported:
    files: int                       # report files written
    message_ids: tuple[str, ...]     # the messages they came from (each an "exported" trace step)


def export_reports(app, targets: list, fmt: str, folder: Path) -> Exported:
    """Write one file per report into `folder`."""
    from pli.core.lab import reports_in_mail
    from pli.core.lab.export import export_report

    folder.mkdir(parents=True, exist_ok=True)
    written, exported = 0, []
    for summary in targets:
        clear = app.read_message(summary)
        for number, report in enumerate(reports_in_mail(clear.message), 1):
            data, suffix = export_report(report, fmt)
            stem = "".join(c if c.isalnum() else "_" for c in summary.message_id)[:60]
            (folder / f"{stem}-{number}{suffix}").write_bytes(data)
            written += 1
            if not exported or exported[-1] != summary.message_id:
                exported.append(summary.message_id)
    return Exported(written, tuple(exported))


class ExportScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, targets: list) -> None:
        super().__init__()
        self.targets = targets

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Export the lab reports of {len(self.targets)} message(s)")
            with RadioSet(id="export-format"):
                yield RadioButton("FHIR R4 (JSON bundle)", value=True, id="fhir")
                yield RadioButton("HPRIM", id="hprim")
            yield Label("into folder (enter exports):")
            yield Input(str(Path.cwd() / "pli-export"), id="export-folder")

    def on_mount(self) -> None:
        self.query_one("#export-folder", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        pressed = self.query_one(RadioSet).pressed_button
        fmt = pressed.id if pressed is not None else "fhir"
        try:
            exported = export_reports(self.app, self.targets, fmt, Path(event.value).expanduser())
        except PliError as error:
            self.notify(str(error), title="Export", severity="error")
            return
        except OSError as error:
            self.notify(f"cannot write to {event.value}: {error.strerror}", title="Export", severity="error")
            return
        self.app.trace_many("exported", exported.message_ids, target=fmt)
        self.app.notify(f"exported {exported.files} report(s) as {fmt.upper()} to {event.value}", title="Export")
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
