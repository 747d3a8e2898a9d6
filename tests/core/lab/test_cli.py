"""`pli lab show|export|generate` through the real command-line entry point."""
import json
from pathlib import Path

import pytest

from pli.core.cli import main
from pli.core.lab.generator import generate


@pytest.fixture
def samples(tmp_path):
    assert main(["--home", str(tmp_path / "home"), "lab", "generate", "--seed", "7", "--count", "6", "--eml",
                 "-o", str(tmp_path / "labs")]) == 0
    return tmp_path / "labs"


def run(capsys, *argv) -> tuple[int, str, str]:
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_generate_writes_the_files_and_mails(samples):
    names = sorted(p.name for p in samples.iterdir())
    assert len(names) == 12 and {n.rsplit(".", 1)[1] for n in names} == {"eml", "hpr", "hl7"}
    assert [m.payload for m in generate(6, seed=7, patients=50)] == \
        [(samples / m.filename).read_bytes() for m in generate(6, seed=7, patients=50)]


def test_show_marks_abnormal_values_by_symbol_without_colour_in_a_pipe(samples, capsys):
    message = next(m for m in generate(6, seed=7, patients=50) if m.reports[0].severity != "normal")
    status, out, _ = run(capsys, "lab", "show", str(samples / message.filename))
    assert status == 0 and "\x1b[" not in out
    report = message.reports[0]
    assert report.patient.display in out and report.summary() in out
    flagged = [o for o in report.observations if o.severity == "abnormal"]
    for line in out.splitlines():
        if any(line.split("  ")[1:2] == [o.label] for o in flagged):
            assert line.lstrip()[0] in "▲▼◆"


def test_show_critical_first_and_colour_on_demand(samples, capsys):
    message = next(m for m in generate(6, seed=7, patients=50) if m.format == "hl7")
    eml = samples / (message.filename.rsplit(".", 1)[0] + ".eml")
    status, out, _ = run(capsys, "lab", "show", "--critical-first", "--colour", "always", str(eml))
    assert status == 0
    rows = [line for line in out.splitlines() if line.startswith(("\x1b[1;31m", "\x1b[33m"))]
    if any(o.severity != "normal" for o in message.reports[0].observations):
        assert rows, "abnormal rows are coloured when asked"


def test_export_fhir_to_stdout_and_file(samples, capsys, tmp_path):
    first = sorted(samples.glob("*.hpr"))[0]
    status, out, _ = run(capsys, "lab", "export", "--fhir", str(first))
    assert status == 0 and json.loads(out)["resourceType"] == "Bundle"
    target = tmp_path / "out.json"
    assert run(capsys, "lab", "export", "--fhir", str(first), "-o", str(target))[0] == 0
    assert json.loads(target.read_text())["type"] == "collection"


def test_export_hprim_into_a_folder(samples, capsys, tmp_path):
    folder = tmp_path / "medical-in"
    folder.mkdir()
    first = sorted(samples.glob("*.hl7"))[0]
    status, out, _ = run(capsys, "lab", "export", "--hprim", str(first), "-o", str(folder))
    assert status == 0 and out.strip().endswith(".hpr")
    assert [p.suffix for p in folder.iterdir()] == [".hpr"]


def test_errors_are_one_line_with_an_exit_status(samples, capsys, tmp_path):
    junk = tmp_path / "junk.hpr"
    junk.write_bytes(b"\x00\x01\x02binary")
    status, _, err = run(capsys, "lab", "show", str(junk))
    assert status == 1 and err.startswith("pli: malformed HPRIM lab report at line 1") and "Traceback" not in err
    status, _, err = run(capsys, "lab", "show", str(tmp_path / "missing.hpr"))
    assert status == 2 and "no such file" in err
    status, _, err = run(capsys, "--home", str(tmp_path / "h"), "lab", "export", "--hprim", "--drop",
                         str(sorted(samples.glob("*.hpr"))[0]))
    assert status == 2 and "hprim_folder" in err


def test_show_reads_in_monochrome_symbols_for_every_kind_of_result(tmp_path, capsys):
    lines = ["BIOLOGIE", "FICTIF", "Zoé", "", "", "", "12/04/1965", "", "R1", "02/01/2024", "LAB", "DR", "",
             "****LAB****",
             "RES|Potassium|K|N|6,8|mmol/l|3,5|5,0|HH|F|",
             "RES|Créatinine|Creat|N|180|µmol/l|60|110||F|",
             "RES|Sodium|Na|N|140|mmol/l|136|145||F|",
             "RES|Aspect|ASP|A|trouble|||||F|",
             "RES|Agglutinats|AGG|A|présence||||W|F|",
             "****FINLAB****", "****FIN****", "****FINFICHIER****"]
    path = tmp_path / "r.hpr"
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    status, out, _ = run(capsys, "lab", "show", "--critical-first", str(path))
    rows = {line.split()[1] if line[:1] != " " else line.split()[0]: line for line in out.splitlines()
            if any(w in line for w in ("Potassium", "Créatinine", "Sodium", "Aspect", "Agglutinats"))}
    assert status == 0 and "CRITICAL: K 6,8 HH" in out
    assert rows["Potassium"].startswith("▲▲") and rows["Potassium"].rstrip().endswith("HH")
    assert rows["Créatinine"].startswith("▲") and rows["Créatinine"].rstrip().endswith("H*")
    assert rows["Sodium"].startswith(" ") and rows["Sodium"].rstrip().endswith("136-145")
    assert rows["Aspect"].startswith("?") and rows["Aspect"].rstrip().endswith("not interpreted")
    assert rows["Agglutinats"].startswith("?") and rows["Agglutinats"].rstrip().endswith("W?")
    order = [name for name in ("Potassium", "Créatinine", "Agglutinats", "Aspect", "Sodium")]
    assert sorted(order, key=out.index) == order     # critical, abnormal, not interpreted, normal


def test_generate_reports_what_it_wrote_on_stdout_as_the_other_file_writing_commands(tmp_path, capsys):
    status, out, err = run(capsys, "--home", str(tmp_path / "home"), "lab", "generate", "--count", "2",
                           "-o", str(tmp_path / "labs"))
    assert (status, err) == (0, "")
    assert out == f"wrote 2 generated lab report files to {tmp_path / 'labs'}/ (invented patients, seed 0)\n"


def test_show_reads_the_public_hprim_sante_files_mailed_as_text_and_as_attachment(tmp_path, capsys):
    """The outside HPRIM Santé files (lab-wild h38, h41), in a real mail, through `pli lab show`."""
    from mail_bodies import mail
    corpus = Path(__file__).resolve().parents[2] / "fixtures" / "lab-wild"
    libhprim = (corpus / "h38-libhprim-parser-test.hpr").read_bytes()
    for raw in (mail(libhprim, charset="iso-8859-1"),
                mail("Bonjour,", attachments=[(libhprim, "Test1.HPR")])):
        (tmp_path / "m.eml").write_bytes(raw)
        status, out, err = run(capsys, "lab", "show", "--text", str(tmp_path / "m.eml"))
        assert status == 0 and err == ""
        assert "GAULLE MARECHAL, born 25/03/1937" in out and "LABM · specimen 28/04/2012 14:12" in out
        assert "for DR PITO OLIV" in out and "in the file AL213202.j1 (GALAXIE, TXT)" in out
    (tmp_path / "cut.eml").write_bytes(mail((corpus / "h41-libhprim-example-no-end-record.hpr").read_bytes(),
                                            charset="iso-8859-1"))
    status, out, _ = run(capsys, "lab", "show", "--text", str(tmp_path / "cut.eml"))
    assert status == 0 and "INCOMPLETE" in out and "no end record (L)" in out
