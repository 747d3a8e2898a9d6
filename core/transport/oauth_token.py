"""The access token of an OAuth account, printed by a command the account names (`token_command`).

    [accounts.mss]
    auth = "oauthbearer"                                   # or "xoauth2"
    token_command = ["pscli", "token", "--audience", "mssante"]   # or one string, split like a shell would

    token = TokenCommand.from_config(table["token_command"], where).token()

The national health identity provider (Pro Santé Connect) issues short-lived
tokens; a helper program the practitioner already uses gets one and prints
it.  pli runs it without a shell (no expansion, no injection through the
config), with a timeout after which it is killed, and reads the first line
of its output.  Its error output is never shown: such programs print tokens,
codes and URLs with secrets in them, and pli's messages end up in logs.
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
from dataclasses import dataclass

from pli.core.errors import ConfigError, PliError

TIMEOUT_SECONDS = 30
MAX_OUTPUT = 64 * 1024
# RFC 6750 §2.1 b64token: what a bearer token may hold (JWTs and opaque tokens alike).
_BEARER = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class TokenCommandFailed(PliError):
    """The token command could not be run, failed, or printed no token."""

    exit_code = 75


@dataclass(frozen=True)
class TokenCommand:
    argv: tuple[str, ...]
    timeout: float = TIMEOUT_SECONDS

    @classmethod
    def from_config(cls, value, where: str, timeout: float = TIMEOUT_SECONDS) -> "TokenCommand":
        """A command from the config: a list of arguments, or one string split as a shell would (never run by one)."""
        if isinstance(value, str):
            try:
                argv = shlex.split(value)
            except ValueError as error:
                raise ConfigError(f"{where}: token_command cannot be read ({error})") from None
        elif isinstance(value, list) and all(isinstance(a, str) for a in value):
            argv = list(value)
        else:
            raise ConfigError(f"{where}: token_command must be a string or a list of strings")
        if not argv or not argv[0]:
            raise ConfigError(f"{where}: token_command is empty")
        return cls(tuple(os.path.expanduser(a) if i == 0 else a for i, a in enumerate(argv)), timeout)

    @property
    def name(self) -> str:
        return os.path.basename(self.argv[0])

    def token(self) -> str:
        """Run the command and return the token it printed; TokenCommandFailed otherwise."""
        try:
            returncode, stdout = _run(self.argv, self.timeout)
        except FileNotFoundError:
            raise TokenCommandFailed(f"the token command {self.argv[0]} does not exist: check token_command "
                                     "in the account") from None
        except PermissionError:
            raise TokenCommandFailed(f"the token command {self.argv[0]} cannot be run (not executable)") from None
        except subprocess.TimeoutExpired:
            raise TokenCommandFailed(f"the token command {self.name} gave no token within {self.timeout:g} s "
                                     "and was stopped: is it waiting for a login in a browser?") from None
        except OSError as error:
            raise TokenCommandFailed(f"the token command {self.argv[0]} cannot be run "
                                     f"({error.strerror or error})") from None
        if returncode != 0:
            raise TokenCommandFailed(f"the token command {self.name} failed (exit status {returncode}); its "
                                     "error output is not shown as it may hold secrets: run it by hand to see "
                                     "why")
        return _first_token(stdout, self.name)


def _run(argv: tuple[str, ...], timeout: float) -> tuple[int, bytes]:
    """Run argv in a process group of its own; on timeout the whole group gets SIGKILL (a helper script's
    children too: none is left behind holding the pipe or waiting for a browser)."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            shell=False, start_new_session=True)
    try:
        stdout, _ = proc.communicate(timeout=timeout)
    except BaseException:          # the timeout, or Ctrl-C while waiting
        _kill_group(proc)
        raise
    return proc.returncode, stdout


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()


def _first_token(output: bytes, name: str) -> str:
    if len(output) > MAX_OUTPUT:
        raise TokenCommandFailed(f"the token command {name} printed more than {MAX_OUTPUT} bytes: it should print "
                                 "the access token alone")
    lines = output.decode("ascii", "replace").strip().splitlines()
    token = lines[0].strip() if lines else ""
    if not token:
        raise TokenCommandFailed(f"the token command {name} printed nothing: it should print the access token")
    if not _BEARER.fullmatch(token):
        raise TokenCommandFailed(f"the token command {name} printed something that is not an access token "
                                 "(its first line must be the token alone)")
    return token
