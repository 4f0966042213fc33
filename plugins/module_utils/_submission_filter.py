# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""Filter requests by when they were submitted: `older_than: 30d`, `submitted_before`, `submitted_after`.

The API has no such filter, so the module applies it to what a search returns. Pure functions.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, Dict, List, Optional

from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError

UTC = datetime.timezone.utc

_DURATION_RE = re.compile(r'^\s*(\d+)\s*([dhm])\s*$', re.IGNORECASE)
_DURATION_UNITS = {'d': 'days', 'h': 'hours', 'm': 'minutes'}

# ISO 8601 as the API writes it (2015-07-07T23:36:21.93Z, any number of fraction digits) and as people
# write it (2026-01-31, 2026-01-31 12:00, 2026-01-31T12:00:00+01:00). Python 3.8's fromisoformat takes neither.
_TIMESTAMP_RE = re.compile(
    r'^\s*(\d{4})-(\d{2})-(\d{2})'
    r'(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?'
    r'\s*(Z|[+-]\d{2}:?\d{2})?\s*$',
    re.IGNORECASE,
)


def parse_duration(text: Any, option_name: str = 'older_than') -> datetime.timedelta:
    """`30d`, `12h` or `90m` as a timedelta; anything else is a CmInputError."""
    match = _DURATION_RE.match(text) if isinstance(text, str) else None
    if not match:
        raise CmInputError('%s %r is not a duration: write a whole number and a unit, d (days), h (hours) or m (minutes), '
                           'for example 30d, 12h or 90m' % (option_name, text))
    return datetime.timedelta(**{_DURATION_UNITS[match.group(2).lower()]: int(match.group(1))})


def parse_timestamp(text: Any, option_name: str = 'submitted_before') -> datetime.datetime:
    """An ISO 8601 date or date and time as an aware datetime; no offset means UTC."""
    match = _TIMESTAMP_RE.match(text) if isinstance(text, str) else None
    if not match:
        raise CmInputError('%s %r is not a date: write it in ISO 8601, for example 2026-01-31 or 2026-01-31T12:00:00Z' % (option_name, text))
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        tzinfo = _timezone(offset)
        return datetime.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            int((fraction or '0')[:6].ljust(6, '0')), tzinfo=tzinfo,
        )
    except ValueError as exc:
        raise CmInputError('%s %r is not a valid date: %s' % (option_name, text, exc))


def _timezone(offset: Optional[str]) -> datetime.timezone:
    if not offset or offset.upper() == 'Z':
        return UTC
    digits = offset[1:].replace(':', '')
    delta = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return datetime.timezone(-delta if offset[0] == '-' else delta)


class SubmissionWindow(object):
    """Requests submitted at or after `after` and before `before` (either may be None: unbounded)."""

    def __init__(self, before: Optional[datetime.datetime] = None, after: Optional[datetime.datetime] = None) -> None:
        self.before = before
        self.after = after

    @classmethod
    def from_options(cls, older_than: Optional[str] = None, submitted_before: Optional[str] = None,
                     submitted_after: Optional[str] = None, now: Optional[datetime.datetime] = None) -> 'SubmissionWindow':
        """The window the module options describe; `older_than` and `submitted_before` together keep the earlier bound."""
        bounds = []
        if older_than is not None:
            bounds.append((now or datetime.datetime.now(UTC)) - parse_duration(older_than))
        if submitted_before is not None:
            bounds.append(parse_timestamp(submitted_before, 'submitted_before'))
        after = parse_timestamp(submitted_after, 'submitted_after') if submitted_after is not None else None
        return cls(before=min(bounds) if bounds else None, after=after)

    @property
    def is_open(self) -> bool:
        return self.before is None and self.after is None

    def contains(self, facts: Dict[str, Any]) -> bool:
        """Whether the request (facts) was submitted inside the window; one without a readable time is not."""
        if self.is_open:
            return True
        try:
            submitted = parse_timestamp(facts.get('submitted'), 'submitted')
        except CmInputError:
            return False
        if self.before is not None and not submitted < self.before:
            return False
        if self.after is not None and submitted < self.after:
            return False
        return True

    def select(self, requests: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        return [facts for facts in requests if self.contains(facts)]
