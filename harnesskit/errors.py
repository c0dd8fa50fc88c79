"""The one exception type for user mistakes.

Every package raises :class:`HarnessError` (or a subclass) for bad user input:
a missing file, an unknown name, a malformed config. The CLI catches it once at
the top, prints its one-line message and exits with code 2. Internal invariants
use ``assert``; anything else that escapes is a bug and shows a traceback.
"""

from __future__ import annotations


class HarnessError(Exception):
    """A user error: one line that names the problem and the fix."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """The message and the hint on one line, newlines folded."""
        text = self.message if not self.hint else f"{self.message}; {self.hint}"
        return " ".join(text.split())


class ConfigError(HarnessError):
    """A config value or override key is wrong."""
