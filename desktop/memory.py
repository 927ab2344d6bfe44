"""What a Haven process's memory may never leave behind: a core file of it on a crash."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import resource

_PR_SET_DUMPABLE = 4


def no_core_dumps() -> None:
    """Whatever the machine's settings, a crash of this process writes no core file: its
    memory holds the vault's key and decrypted cases. Not dumpable also keeps other
    processes of the same user from reading its memory (ptrace, /proc/PID/mem)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
