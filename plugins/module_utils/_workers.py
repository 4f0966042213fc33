# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""A bounded pool of workers, each with its own authenticated client, for the list form of a module.

NTLM authenticates a connection, not a request: a worker that keeps its client keeps its
connection, so a task costs one handshake per worker, not one per request.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, List, Optional, Sequence, TypeVar

from ansible_collections.mim.cm.plugins.module_utils._errors import CmError, CmInputError

Item = TypeVar('Item')
Result = TypeVar('Result')

# How many requests of a list are handled at once unless the task says otherwise (the workers option's default).
DEFAULT_WORKERS = 4
# The most workers a task may ask for: each is a connection and a login on the CM server, which serves people too.
MAX_WORKERS = 16


def check_workers(workers: Any) -> None:
    """Refuse a workers value outside 1..MAX_WORKERS, before any traffic."""
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise CmInputError('workers must be between 1 and %d, not %r' % (MAX_WORKERS, workers))


class ClientPool(object):
    """Lends each worker a client of its own: `first` (the module's client) and at most `size - 1` more made by `new_client`."""

    def __init__(self, first: Any, new_client: Optional[Callable[[], Any]], size: int):
        self._idle = [first]
        self._made: List[Any] = []
        self._new_client = new_client
        self._size = max(1, size)
        self._lock = threading.Lock()

    def borrow(self) -> Any:
        with self._lock:
            if self._idle:
                return self._idle.pop()  # the most recently used: its connection is warm
            if len(self._made) + 1 >= self._size or self._new_client is None:
                raise RuntimeError('more clients borrowed than there are workers')
            client = self._new_client()
            self._made.append(client)
            return client

    def give_back(self, client: Any) -> None:
        with self._lock:
            self._idle.append(client)

    def close(self) -> None:
        """Close the clients this pool made (the first belongs to the caller)."""
        for client in self._made:
            client.close()


class StopFlag(object):
    """Set once by the worker that meets an error every other request would meet too; the rest skip their work."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.error: Optional[CmError] = None

    def set(self, error: CmError) -> None:
        if not self._event.is_set():
            self.error = error
            self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


def map_in_order(work: Callable[[Item], Result], items: Sequence[Item], workers: int) -> List[Result]:
    """[work(item) for item in items], run by up to `workers` threads; the results keep the order of `items`.

    Never more threads (so never more connections) than items.
    """
    workers = min(workers, len(items))
    if workers <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as executor:
        return list(executor.map(work, items))
