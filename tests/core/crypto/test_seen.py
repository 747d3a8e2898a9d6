"""The seen-ranges file: a pad range seen again in another message is a replay alert, across processes and crashes."""
from dataclasses import dataclass

import pytest

from pli.core.crypto.record_file import RECORD
from pli.core.crypto.refusals import ReplayAlert
from pli.core.crypto.seen import PadRange, SeenRanges

PAD = "ab" * 16


@dataclass
class Message:  # what SeenRanges reads of an opened message
    digest: str
    pad_ranges: tuple


def message(n: int, offset: int, length: int = 100) -> Message:
    return Message(f"{n:02x}" * 32, (PadRange(PAD, 0, offset, length, sender="dr.b@example.test"),))


def test_an_overlapping_range_from_another_message_is_an_alert_and_is_not_recorded(tmp_path):
    seen = SeenRanges(tmp_path)
    seen.check_and_record(message(1, 0))
    with pytest.raises(ReplayAlert, match="SECURITY ALERT.*dr.b@example.test"):
        seen.check(message(2, 50))
    with pytest.raises(ReplayAlert):
        SeenRanges(tmp_path).check_and_record(message(2, 50))  # a fresh reader sees it: it is on disk
    assert seen.path.stat().st_size == RECORD                  # the alert recorded nothing


def test_the_same_message_again_is_not_an_alert_and_adds_no_record(tmp_path):
    seen = SeenRanges(tmp_path)
    seen.check_and_record(message(1, 0))
    seen.check_and_record(message(1, 0))
    SeenRanges(tmp_path).check(message(1, 0))
    assert seen.path.stat().st_size == RECORD


def test_a_torn_record_from_a_crash_is_padded_and_later_records_stay_aligned(tmp_path):
    seen = SeenRanges(tmp_path)
    seen.check_and_record(message(1, 0))
    with open(seen.path, "ab") as torn:
        torn.write(b"PLS1" + b"\x07" * 20)        # a crash in the middle of an append
    SeenRanges(tmp_path).check_and_record(message(2, 100))
    assert seen.path.stat().st_size == 3 * RECORD
    with pytest.raises(ReplayAlert):
        SeenRanges(tmp_path).check(message(3, 150))
    SeenRanges(tmp_path).check(message(3, 200))     # after both ranges: fine
