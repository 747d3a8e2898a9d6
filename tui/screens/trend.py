"""One test's values for one patient across all their reports, as a plot and a list."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from pli.core.lab.dates import instant
from pli.core.lab.render import flag_symbol
from pli.core.mail.patient_history import reports_of_patient
from pli.tui.lab_rows import LabRow
from pli.tui.widgets.key_bar import KeyBar
from pli.tui.widgets.trend_plot import TrendPlot, TrendPoint


def trend_points(patient_reports, patient_key: str, code: str) -> tuple[list[TrendPoint], str]:
    # start-up: loaded when first used, after the first screen
    from pli.core.lab import series

    return _plotted(series([p.report for p in patient_reports], patient_key, code))


def replaced_points(patient_reports, patient_key: str, code: str) -> tuple[list[TrendPoint], str]:
    """The values corrections replaced: listed as history under the plot, never on its line."""
    # start-up: loaded when first used, after the first screen
    from pli.core.lab.trends import replaced

    return _plotted(replaced([p.report for p in patient_reports], patient_key, code))


def _plotted(series_points) -> tuple[list[TrendPoint], str]:
    points, unit = [], ""
    for when, value, point_unit, flag in series_points:
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue  # a non-numeric result (e.g. "haemolysed") cannot be plotted; it stays in the report
        flag_text = str(getattr(flag, "value", flag) or "")
        points.append(TrendPoint(when, number, "" if flag_text in ("N", "?") else flag_text))
        unit = unit or (point_unit or "")
    return points, unit


class TrendScreen(Screen):
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Close", id="trend.close")]

    def __init__(self, patient_key: str, patient_name: str, row: LabRow) -> None:
        super().__init__()
        self.patient_key = patient_key
        self.patient_name = patient_name
        self.row = row

    def compose(self) -> ComposeResult:
        reports = reports_of_patient(self.app.store, self.patient_key, self.app.read_message)
        points, unit = trend_points(reports, self.patient_key, self.row.code)
        history, _ = replaced_points(reports, self.patient_key, self.row.code)
        yield Static(f"{self.row.name} ({unit or self.row.unit}) · {self.patient_name} · "
                     f"{len(points)} value{'s' if len(points) != 1 else ''}", id="trend-title")
        yield TrendPlot(points, unit, id="trend-plot")
        yield Static(self._values_text(points, unit, history), id="trend-values")
        yield KeyBar()

    @staticmethod
    def _values_text(points: list[TrendPoint], unit: str, history: list[TrendPoint] = ()) -> str:
        newest = sorted(points, key=lambda p: instant(p.when), reverse=True)[:6]
        text = "   ".join(f"{p.when:%d.%m.%y} {p.value:g} {flag_symbol(p.flag)}".rstrip() for p in newest)
        if history:
            text += "\nreplaced by a correction (history, not plotted): " + "   ".join(
                f"{p.when:%d.%m.%y} {p.value:g}" for p in sorted(history, key=lambda p: instant(p.when), reverse=True)[:6])
        return text
