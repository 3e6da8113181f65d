"""Errors that end a command with a clear sentence and a documented exit code.

Exit codes, everywhere: 0 ok, 1 a check said no (gate failed, drift found), 2 bad input or config.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


class MlgitopsError(Exception):
    """Bad input or configuration: the command stops with exit code 2.

    The message is one sentence a user can act on: what is wrong, where, and what to do.
    """

    exit_code = EXIT_BAD_INPUT


class ConfigError(MlgitopsError):
    """A params file or schema file is malformed, incomplete or out of range."""


class DataError(MlgitopsError):
    """A data file is missing, unreadable, empty or does not match what is expected."""


class ArtifactError(MlgitopsError):
    """A model artifact is missing, corrupt, or contains types that are not trusted."""
