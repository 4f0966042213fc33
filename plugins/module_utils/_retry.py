# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""The one retry mechanism: when to try a call again, how long to wait, and what to tell the user.

RetryPolicy.run() is the only loop: the client runs each GET through it, and the converge flow runs a
PUT through it with a `settle` step that reads the request after a lost answer (a change is never sent
twice blindly). urllib3's adapter replays are never used: an NTLM-authenticated connection cannot be
replayed blindly. Every retry is shown to the user as a warning.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, Optional, TypeVar

from ansible_collections.mim.cm.plugins.module_utils._errors import CmTransientError

T = TypeVar('T')
# settle(error, attempts made, whether no retry is left): a result ends the loop; None means try again.
Settle = Callable[[CmTransientError, int, bool], Optional[Any]]

# The retries and retry_delay options' defaults: three more attempts, the first after about a second.
DEFAULT_RETRIES = 3
DEFAULT_RETRY_DELAY = 1.0
# A server's Retry-After is honoured up to this many seconds.
MAX_RETRY_AFTER = 60
# Exponential backoff never waits longer than this.
MAX_BACKOFF = 30


def parse_retry_after(value: Any) -> Optional[float]:
    """Seconds from a Retry-After header given in seconds; None when absent or given as an HTTP date."""
    try:
        seconds = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


class RetryPolicy(object):
    """`retries` more attempts after the first, waiting `delay` * 2^(attempt - 1) plus jitter, or what Retry-After asks."""

    def __init__(self, retries: int = DEFAULT_RETRIES, delay: float = DEFAULT_RETRY_DELAY,
                 warn: Optional[Callable[[str], Any]] = None, sleep: Callable[[float], Any] = time.sleep,
                 jitter: Callable[[], float] = random.random):
        self.retries = max(0, retries)
        self.delay = max(0.0, delay)
        self._warn = warn or (lambda message: None)
        self._sleep = sleep
        self._jitter = jitter

    def wait_seconds(self, attempt: int, retry_after: Optional[float] = None) -> float:
        """How long to wait before retry number `attempt` (1 for the first retry)."""
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        backoff = self.delay * (2 ** (attempt - 1))
        return min(backoff + self.delay * self._jitter(), MAX_BACKOFF)

    def pause(self, attempt: int, call: str, error: CmTransientError) -> None:
        """Warn that `call` (e.g. 'GET /path') failed with the transient `error` and wait before retry `attempt`."""
        seconds = self.wait_seconds(attempt, getattr(error, 'retry_after', None))
        self._warn('%s: %s; retry %d of %d in %.1f s' % (call, error.reason, attempt, self.retries, seconds))
        self._sleep(seconds)

    def run(self, call: str, attempt: Callable[[], T], settle: Optional[Settle] = None) -> T:
        """attempt() until it returns, trying again after a CmTransientError at most `retries` times.

        After each transient failure, settle() (when given) may end the loop with a result, or raise; the
        last failure is raised with "(after N attempts)" when there was more than one. `call` names the call
        in the warnings ('GET /path').
        """
        tried = 0
        while True:
            try:
                return attempt()
            except CmTransientError as error:
                tried += 1
                exhausted = tried > self.retries
                if settle is not None:
                    settled = settle(error, tried, exhausted)
                    if settled is not None:
                        return settled
                if exhausted:
                    if tried > 1:
                        error.message = '%s (after %d attempts)' % (error.message, tried)
                        error.args = (error.message,)
                    raise
                self.pause(tried, call, error)
