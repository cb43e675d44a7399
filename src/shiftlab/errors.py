"""Errors that carry a message a user can act on (printed without a traceback)."""


class UserError(Exception):
    """A problem with the user's input or data: shown as one clear line, exit code 2."""
