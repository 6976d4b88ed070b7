"""The two ways a command can fail, mapped to exit codes by the CLI.

UserError   -> exit 2: bad input or usage. The message is one line naming the file or
               field, the problem and the fix. Never shown with a traceback.
CheckFailed -> exit 1: the inputs were fine but a gate failed (budget, accuracy).
"""

from __future__ import annotations


class EdgekitError(Exception):
    exit_code = 2


class UserError(EdgekitError):
    """Bad input: a file, a field or an argument the user can fix."""

    exit_code = 2


class CheckFailed(EdgekitError):
    """A budget or accuracy gate failed. `table` holds the rows that failed, for display."""

    exit_code = 1

    def __init__(self, message: str, table: list[dict] | None = None):
        super().__init__(message)
        self.table = table or []
