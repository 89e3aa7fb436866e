"""Start afresh in a forked child: the buffers and spools of a process built before a fork.

gunicorn (without preload) builds the app in each worker, after its fork; but anything that forks
a process holding a buffer (a preloaded app, `os.fork` in a test or a tool) must leave the child
with its own state: no parent's records to ship twice, no lock a parent's thread held at the fork,
no shipping thread (threads do not survive a fork; the child starts its own on its first append).
`os.register_at_fork` runs the reset once, in the child, so the hot path checks no pid.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol


class ForkAware(Protocol):
    def _after_fork_in_child(self) -> None: ...


# Weak: an app built and dropped (tests build hundreds) leaves nothing behind to reset.
_FORK_AWARE: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def reset_after_fork(obj: ForkAware) -> None:
    """Call `obj._after_fork_in_child()` in every child forked from this process from now on."""
    _FORK_AWARE.add(obj)


def _in_child() -> None:
    for obj in list(_FORK_AWARE):
        obj._after_fork_in_child()


os.register_at_fork(after_in_child=_in_child)
