"""The reservation ledger: durable, never overlapping, conservative after a crash, safe across processes."""
import os
import subprocess
import sys
import textwrap

import pytest

from pli.core.crypto.ledger import Ledger, Reservation, encode
from pli.core.crypto.record_file import RECORD
from pli.core.crypto.pads import PadExhausted, PadInfo

PAD = PadInfo(b"\x01" * 16, ("alice@pli.test", "bob@pli.test"), 20000, 0)
OTHER = PadInfo(b"\x02" * 16, ("alice@pli.test", "bob@pli.test"), 20000, 0)


def overlapping(reservations):
    spans = sorted((r.pad_id, r.offset, r.end) for r in reservations)
    return [(a, b) for a, b in zip(spans, spans[1:]) if a[0] == b[0] and b[1] < a[2]]


def test_reservations_follow_each_other_within_a_lane(tmp_path):
    ledger = Ledger(tmp_path / "ledger")
    first = ledger.reserve([(PAD, 0, 100), (PAD, 1, 10), (OTHER, 0, 5)])
    second = ledger.reserve([(PAD, 0, 50)])
    assert first == [Reservation(PAD.id, 0, 0, 100), Reservation(PAD.id, 1, 10000, 10),
                     Reservation(OTHER.id, 0, 0, 5)]
    assert second == [Reservation(PAD.id, 0, 100, 50)]
    assert Ledger(tmp_path / "ledger").used(PAD, 0) == 150   # a fresh reader sees them: they are on disk
    assert (tmp_path / "ledger").stat().st_size == 4 * RECORD


def test_an_exhausted_lane_reserves_nothing(tmp_path):
    ledger = Ledger(tmp_path / "ledger")
    ledger.reserve([(PAD, 0, 9990)])
    with pytest.raises(PadExhausted, match="10 bytes left"):
        ledger.reserve([(PAD, 1, 5), (PAD, 0, 11)])
    assert ledger.reserve([(PAD, 0, 10)]) == [Reservation(PAD.id, 0, 9990, 10)]
    assert ledger.used(PAD, 1) == 0   # the failed call reserved nothing, even in the lane that had room
    assert ledger.left(PAD, 0) == 0


def test_a_torn_last_record_is_skipped_conservatively(tmp_path):
    path = tmp_path / "ledger"
    Ledger(path).reserve([(PAD, 0, 100)])
    torn = encode(Reservation(PAD.id, 0, 100, 500), 0)[:45]      # crash in the middle of a record
    with open(path, "ab") as handle:
        handle.write(torn)
    ledger = Ledger(path)
    assert ledger.reserve([(PAD, 0, 10)]) == [Reservation(PAD.id, 0, 600, 10)]  # the torn range counts
    assert path.stat().st_size % RECORD == 0                   # and later records are aligned again
    assert Ledger(path).used(PAD, 0) == 610


def test_a_damaged_record_still_counts_as_reserved(tmp_path):
    path = tmp_path / "ledger"
    record = bytearray(encode(Reservation(PAD.id, 0, 0, 300), 0))
    record[-1] ^= 0xFF                                            # its CRC fails
    path.write_bytes(bytes(record) + b"\0" * RECORD + os.urandom(20))   # plus a zeroed record and garbage
    assert Ledger(path).reserve([(PAD, 0, 1)]) == [Reservation(PAD.id, 0, 300, 1)]


def test_a_new_ledger_file_is_private(tmp_path):
    Ledger(tmp_path / "pads" / "ledger").reserve([(PAD, 0, 1)])
    assert (tmp_path / "pads" / "ledger").stat().st_mode & 0o777 == 0o600


RESERVER = textwrap.dedent("""
    import random, sys
    from pli.core.crypto.ledger import Ledger
    from pli.core.crypto.pads import PadInfo
    pad = PadInfo(b"\\x01" * 16, ("alice@pli.test", "bob@pli.test"), 4_000_000, 0)
    ledger, rng = Ledger(sys.argv[1]), random.Random(sys.argv[2])
    for _ in range(150):
        r = ledger.reserve([(pad, 0, rng.randrange(1, 500))])[0]
        print(r.offset, r.length, flush=True)
""")


def test_concurrent_processes_never_reserve_the_same_bytes(tmp_path):
    path = tmp_path / "ledger"
    procs = [subprocess.Popen([sys.executable, "-c", RESERVER, str(path), str(seed)], stdout=subprocess.PIPE)
             for seed in range(4)]
    granted = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        granted += [Reservation(PAD.id, 0, int(o), int(n)) for o, n in (line.split() for line in out.decode().splitlines())]
    assert len(granted) == 600
    assert overlapping(granted) == []
    assert sorted(granted, key=lambda r: r.offset) == sorted(Ledger(path).reservations(), key=lambda r: r.offset)
