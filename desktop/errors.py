"""Errors a person can cause, each with the CLI exit code the contract gives it."""

from __future__ import annotations


class HavenError(Exception):
    """Base of every error Haven reports to a person in one line."""

    exit_code = 1


class AuthenticationFailed(HavenError):
    """Wrong user name or password, or a disabled account."""

    exit_code = 3


class PermissionDenied(HavenError):
    """The user's role does not allow this action."""

    exit_code = 3


class WrongPlace(HavenError):
    """The data folder named holds no vault, holds one already, or cannot hold one."""

    exit_code = 2  # a usage error: another folder was meant


class InputRejected(HavenError):
    """Bad, tampered, replayed or foreign input; nothing was changed."""

    exit_code = 4


class NotFound(InputRejected):
    """No such case, user or peer."""


def exists_already(target: object) -> InputRejected:
    """A file Haven will not write over: it may be one not carried away yet, or the vault's own."""
    return InputRejected(f"{target} exists; choose a new file name")


def not_written(target: object, error: OSError) -> HavenError:
    """A file that could not be written (a full or removed medium); none of it was left."""
    return HavenError(f"cannot write {target}: {error.strerror}; nothing was written")
