# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""When and how long to wait before trying an HTTP call again.

The client's own loop uses it (never urllib3's adapter replays: an NTLM-authenticated connection
cannot be replayed blindly). Every retry is shown to the user as a warning.
"""

from __future__ import annotations

import random
import time

# The retries and retry_delay options' defaults: three more attempts, the first after about a second.
DEFAULT_RETRIES = 3
DEFAULT_RETRY_DELAY = 1.0
# A server's Retry-After is honoured up to this many seconds.
MAX_RETRY_AFTER = 60
# Exponential backoff never waits longer than this.
MAX_BACKOFF = 30


def parse_retry_after(value):
    """Seconds from a Retry-After header given in seconds; None when absent or given as an HTTP date."""
    try:
        seconds = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


class RetryPolicy(object):
    """`retries` more attempts after the first, waiting `delay` * 2^(attempt - 1) plus jitter, or what Retry-After asks."""

    def __init__(self, retries=DEFAULT_RETRIES, delay=DEFAULT_RETRY_DELAY, warn=None, sleep=time.sleep, jitter=random.random):
        self.retries = max(0, retries)
        self.delay = max(0.0, delay)
        self._warn = warn or (lambda message: None)
        self._sleep = sleep
        self._jitter = jitter

    def wait_seconds(self, attempt, retry_after=None):
        """How long to wait before retry number `attempt` (1 for the first retry)."""
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        backoff = self.delay * (2 ** (attempt - 1))
        return min(backoff + self.delay * self._jitter(), MAX_BACKOFF)

    def pause(self, attempt, call, error):
        """Warn that `call` (e.g. 'GET /path') failed with the transient `error` and wait before retry `attempt`."""
        seconds = self.wait_seconds(attempt, getattr(error, 'retry_after', None))
        self._warn('%s: %s; retry %d of %d in %.1f s' % (call, error.reason, attempt, self.retries, seconds))
        self._sleep(seconds)
