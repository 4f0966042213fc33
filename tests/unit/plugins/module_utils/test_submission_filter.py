# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime

import pytest

from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError
from ansible_collections.mim.cm.plugins.module_utils._submission_filter import (
    UTC,
    SubmissionWindow,
    parse_duration,
    parse_timestamp,
)

NOW = datetime.datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize('text, expected', [
    ('30d', datetime.timedelta(days=30)),
    ('12h', datetime.timedelta(hours=12)),
    ('90m', datetime.timedelta(minutes=90)),
    ('0d', datetime.timedelta(0)),
    (' 7D ', datetime.timedelta(days=7)),
])
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize('text', ['30', 'd', '30s', '1w', '-1d', '1.5d', '30 days', '', None, 30])
def test_bad_durations_get_a_clear_error(text):
    with pytest.raises(CmInputError) as caught:
        parse_duration(text)
    assert 'is not a duration' in caught.value.message and '30d, 12h or 90m' in caught.value.message


@pytest.mark.parametrize('text, expected', [
    ('2015-07-07T23:36:21.93Z', datetime.datetime(2015, 7, 7, 23, 36, 21, 930000, tzinfo=UTC)),
    ('2015-07-07T23:37:37.767Z', datetime.datetime(2015, 7, 7, 23, 37, 37, 767000, tzinfo=UTC)),
    ('2015-07-07T23:37:37.1234567Z', datetime.datetime(2015, 7, 7, 23, 37, 37, 123456, tzinfo=UTC)),
    ('2015-07-07T23:37:37', datetime.datetime(2015, 7, 7, 23, 37, 37, tzinfo=UTC)),
    ('2026-01-31', datetime.datetime(2026, 1, 31, tzinfo=UTC)),
    ('2026-01-31 12:00', datetime.datetime(2026, 1, 31, 12, tzinfo=UTC)),
    ('2026-01-31T13:00:00+01:00', datetime.datetime(2026, 1, 31, 12, tzinfo=UTC)),
    ('2026-01-31T07:00:00-0500', datetime.datetime(2026, 1, 31, 12, tzinfo=UTC)),
])
def test_timestamps_as_the_api_and_people_write_them(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize('text', ['yesterday', '2026-13-01', '2026-02-30', '31/01/2026', '2026-01-31T25:00:00Z', ''])
def test_bad_timestamps_get_a_clear_error(text):
    with pytest.raises(CmInputError) as caught:
        parse_timestamp(text, 'submitted_after')
    assert caught.value.message.startswith('submitted_after %r is not a' % text)


def facts(submitted):
    return {'uuid': submitted, 'submitted': submitted}


def test_older_than_keeps_only_requests_submitted_before_now_minus_the_duration():
    window = SubmissionWindow.from_options(older_than='30d', now=NOW)
    assert window.before == NOW - datetime.timedelta(days=30)
    assert window.contains(facts('2026-10-22T11:59:59.999Z'))
    assert not window.contains(facts('2026-10-22T12:00:00Z')), 'exactly 30 days old is not older than 30 days'
    assert not window.contains(facts('2026-11-20T12:00:00Z'))


def test_submitted_after_is_inclusive_and_submitted_before_exclusive():
    window = SubmissionWindow.from_options(submitted_after='2026-01-01', submitted_before='2026-02-01')
    selected = window.select([facts('2025-12-31T23:59:59Z'), facts('2026-01-01T00:00:00Z'), facts('2026-01-31T23:59:59.9Z'), facts('2026-02-01T00:00:00Z')])
    assert [item['submitted'] for item in selected] == ['2026-01-01T00:00:00Z', '2026-01-31T23:59:59.9Z']


def test_older_than_and_submitted_before_keep_the_earlier_bound():
    assert SubmissionWindow.from_options(older_than='1d', submitted_before='2026-01-01', now=NOW).before == datetime.datetime(2026, 1, 1, tzinfo=UTC)
    assert SubmissionWindow.from_options(older_than='400d', submitted_before='2026-01-01', now=NOW).before == NOW - datetime.timedelta(days=400)


def test_an_open_window_keeps_everything_even_without_a_submission_time():
    window = SubmissionWindow.from_options()
    assert window.is_open
    assert window.select([facts(None), facts('garbage')]) == [facts(None), facts('garbage')]


def test_a_request_without_a_readable_submission_time_is_outside_a_bounded_window():
    assert SubmissionWindow.from_options(older_than='1d', now=NOW).select([facts(None), facts('garbage')]) == []
