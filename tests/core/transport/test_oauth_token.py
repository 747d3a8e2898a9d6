"""The token command: real scripts run without a shell, killed with their children on timeout, secrets never echoed."""
from __future__ import annotations

import os
import time

import pytest

from pli.core.errors import ConfigError
from pli.core.transport.oauth_token import TokenCommand, TokenCommandFailed

JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkci5tYXJ0aW4ifQ.c2lnbmF0dXJl"


def script(folder, name: str, body: str):
    path = folder / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o700)
    return path


def test_the_first_line_the_command_prints_is_the_token(tmp_path):
    helper = script(tmp_path, "get-token", f'echo "{JWT}"\necho "expires in 300 s"\n')
    assert TokenCommand.from_config([str(helper), "--audience", "mssante"], "test").token() == JWT


def test_a_string_is_split_like_a_shell_would_but_never_run_by_one(tmp_path):
    marker = tmp_path / "injected"
    helper = script(tmp_path, "get-token", 'printf "%s\\n" "$1"\n')
    command = TokenCommand.from_config(f"{helper} '{JWT}; touch {marker}'", "test")
    with pytest.raises(TokenCommandFailed, match="not an access token"):
        command.token()                       # the whole quoted argument came back: no shell split it
    assert not marker.exists()


def test_a_failing_command_is_named_and_its_error_output_is_not_shown(tmp_path):
    helper = script(tmp_path, "get-token", 'echo "refresh_token=SECRET-REFRESH-42" >&2\nexit 3\n')
    with pytest.raises(TokenCommandFailed) as failed:
        TokenCommand.from_config([str(helper)], "test").token()
    assert "exit status 3" in str(failed.value) and "SECRET-REFRESH-42" not in str(failed.value)


def test_a_command_that_hangs_is_killed_with_its_children(tmp_path):
    pid_file = tmp_path / "child.pid"
    helper = script(tmp_path, "get-token", f"sleep 60 &\necho $! > {pid_file}\nwait\n")
    started = time.monotonic()
    with pytest.raises(TokenCommandFailed, match="within 1 s"):
        TokenCommand.from_config([str(helper)], "test", timeout=1).token()
    assert time.monotonic() - started < 10
    child = int(pid_file.read_text())
    for _ in range(50):      # SIGKILL is delivered at once; reaping by init may take a moment
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        if _is_zombie(child):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the token command's child survived the timeout")


def _is_zombie(pid: int) -> bool:
    try:
        return open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    except OSError:
        return True


@pytest.mark.parametrize("body, words", [
    ("exit 0\n", "printed nothing"),
    ('echo "Bearer abc def"\n', "not an access token"),
    ('head -c 70000 /dev/zero | tr "\\0" a\n', "more than"),
])
def test_output_that_is_not_a_token_is_refused_without_quoting_it(tmp_path, body, words):
    helper = script(tmp_path, "get-token", body)
    with pytest.raises(TokenCommandFailed, match=words) as failed:
        TokenCommand.from_config([str(helper)], "test").token()
    assert "abc def" not in str(failed.value)


def test_a_missing_or_not_executable_command_is_named(tmp_path):
    with pytest.raises(TokenCommandFailed, match="does not exist"):
        TokenCommand.from_config([str(tmp_path / "nowhere")], "test").token()
    plain = tmp_path / "not-executable"
    plain.write_text("echo x\n")
    plain.chmod(0o600)
    with pytest.raises(TokenCommandFailed, match="not executable"):
        TokenCommand.from_config([str(plain)], "test").token()


@pytest.mark.parametrize("value", ["", [], [1, 2], {"cmd": "x"}, "unterminated 'quote"])
def test_a_token_command_the_config_cannot_hold_is_a_config_error(value):
    with pytest.raises(ConfigError, match=r"\[accounts.mss\]"):
        TokenCommand.from_config(value, "config.toml [accounts.mss]")
