"""The root of pli's typed errors: each carries a message for the person at the keyboard.

Every module defines its own subclasses next to the code that raises them
(`BadSignature` in the envelope, `MalformedReport` in the lab parsers...).
The CLI and the TUI show `str(error)`; they never show a traceback.
"""


class PliError(Exception):
    """An error the user can act on.

    The message names the problem and, where there is one, what to do about it.
    It must never contain plaintext, key or pad bytes.
    """

    #: Process exit status the CLI uses for this kind of error (see docs/CLI.md).
    exit_code: int = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(PliError):
    """The command line itself is wrong (missing argument, bad value)."""

    exit_code = 2


class ConfigError(PliError):
    """The home folder, its config or its store is missing or unusable."""

    exit_code = 3
