# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.mim.cm.plugins.module_utils._errors import CmTransientError
from ansible_collections.mim.cm.plugins.module_utils._retry import MAX_BACKOFF, MAX_RETRY_AFTER, RetryPolicy, parse_retry_after


def test_backoff_doubles_with_jitter_up_to_the_cap():
    policy = RetryPolicy(retries=10, delay=1.0, jitter=lambda: 0.5)
    assert [policy.wait_seconds(attempt) for attempt in (1, 2, 3, 4)] == [1.5, 2.5, 4.5, 8.5]
    assert policy.wait_seconds(10) == MAX_BACKOFF


def test_retry_after_is_honoured_and_clamped():
    policy = RetryPolicy(retries=3, delay=1.0, jitter=lambda: 0.5)
    assert policy.wait_seconds(1, retry_after=7) == 7
    assert policy.wait_seconds(1, retry_after=3600) == MAX_RETRY_AFTER


@pytest.mark.parametrize('header, expected', [('5', 5.0), (' 0 ', 0.0), ('2.5', 2.5), (None, None), ('-1', None),
                                              ('Wed, 21 Oct 2026 07:28:00 GMT', None)])
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header) == expected


def test_pause_warns_naming_the_call_and_the_reason_then_sleeps():
    warnings, sleeps = [], []
    policy = RetryPolicy(retries=2, delay=0.2, warn=warnings.append, sleep=sleeps.append, jitter=lambda: 0)
    error = CmTransientError('GET x failed: HTTP 503', 'HTTP 503 Service Unavailable (Retry-After: 2 s)', 'GET', 'x', 503, retry_after=2)
    policy.pause(1, 'GET /CertificateManagement/api/v1.0/requests', error)
    assert warnings == ['GET /CertificateManagement/api/v1.0/requests: HTTP 503 Service Unavailable (Retry-After: 2 s); retry 1 of 2 in 2.0 s']
    assert sleeps == [2]


def test_negative_settings_mean_no_retries_and_no_wait():
    policy = RetryPolicy(retries=-1, delay=-5)
    assert policy.retries == 0 and policy.wait_seconds(1) == 0
