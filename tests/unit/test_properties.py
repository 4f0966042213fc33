# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Property-based tests of the input handling: whatever a user writes, a clear answer or a clear error, never a traceback."""

from __future__ import annotations

import datetime
import uuid

from hypothesis import given, settings, strategies as st

from ansible_collections.mim.cm.plugins.module_utils._client import api_base_url
from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError
from ansible_collections.mim.cm.plugins.module_utils._request_model import fold_guids, normalize_guid
from ansible_collections.mim.cm.plugins.module_utils._submission_filter import UTC, parse_duration, parse_timestamp

GUIDS = st.uuids()
BLANKS = st.text(alphabet=' \t\n', max_size=3)


def spelled(guid, upper, braces, before, after):
    text = str(guid).upper() if upper else str(guid)
    return before + ('{%s}' % text if braces else text) + after


@given(GUIDS, st.booleans(), st.booleans(), BLANKS, BLANKS)
def test_every_spelling_of_a_guid_normalizes_to_its_lower_case_form(guid, upper, braces, before, after):
    assert normalize_guid(spelled(guid, upper, braces, before, after)) == str(guid)


@given(st.text(max_size=60))
def test_any_text_is_a_guid_or_a_clear_input_error(text):
    try:
        result = normalize_guid(text)
    except CmInputError as error:
        assert 'is not a GUID' in error.message
    else:
        assert str(uuid.UUID(result)) == result


@given(st.lists(st.tuples(GUIDS, st.booleans(), st.booleans(), BLANKS, BLANKS), max_size=40))
def test_folding_keeps_each_request_once_in_first_seen_order(spellings):
    folded = fold_guids([spelled(*spelling) for spelling in spellings])
    expected = list(dict.fromkeys(str(spelling[0]) for spelling in spellings))
    assert folded == expected


@given(st.lists(st.one_of(st.text(max_size=40), GUIDS.map(str)), max_size=30))
def test_folding_any_list_gives_guids_or_one_clear_error(values):
    try:
        folded = fold_guids(values)
    except CmInputError as error:
        assert 'not GUIDs' in error.message and 'nothing was sent' in error.message
    else:
        assert len(folded) == len(set(folded))


HOSTS = st.from_regex(r'\A[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){0,3}\Z')
PREFIXES = st.lists(st.from_regex(r'\A[a-z][a-z0-9_-]{0,10}\Z'), max_size=2)
SUFFIXES = st.sampled_from(['', '/', '/CertificateManagement', '/certificatemanagement/', '/CertificateManagement/api/v1.0',
                            '/CERTIFICATEMANAGEMENT/API/V1.0/', '//CertificateManagement//api/v1.0//'])


@given(st.sampled_from(['http', 'https', 'HTTPS']), HOSTS, st.one_of(st.none(), st.integers(1, 65535)), PREFIXES, SUFFIXES)
def test_the_api_path_is_added_once_whatever_form_the_url_takes(scheme, host, port, prefix, suffix):
    netloc = host if port is None else '%s:%d' % (host, port)
    path = ''.join('/' + segment for segment in prefix if segment.lower() not in ('certificatemanagement', 'api'))
    base = api_base_url('%s://%s%s%s' % (scheme, netloc, path, suffix))
    assert base.lower().count('/certificatemanagement/api/v1.0') == 1
    assert base.lower().endswith('/certificatemanagement/api/v1.0')
    assert base.startswith('%s://%s%s/' % (scheme.lower(), netloc, path))
    assert api_base_url(base) == base


@given(st.text(max_size=80))
def test_any_url_text_is_a_base_url_or_a_clear_input_error(text):
    try:
        base = api_base_url(text)
    except CmInputError as error:
        assert error.message.startswith('url must')
    else:
        assert base.lower().endswith('/certificatemanagement/api/v1.0')


@given(st.integers(0, 10 ** 6), st.sampled_from('dhmDHM'), BLANKS, BLANKS)
def test_durations_in_days_hours_minutes(number, unit, before, after):
    expected = {'d': datetime.timedelta(days=number), 'h': datetime.timedelta(hours=number), 'm': datetime.timedelta(minutes=number)}
    assert parse_duration('%s%d%s%s' % (before, number, unit, after)) == expected[unit.lower()]


@given(st.text(max_size=20))
def test_any_duration_text_is_a_duration_or_a_clear_input_error(text):
    try:
        parse_duration(text)
    except CmInputError as error:
        assert 'is not a duration' in error.message


@settings(max_examples=200)
@given(st.datetimes(min_value=datetime.datetime(1, 1, 2), max_value=datetime.datetime(9999, 12, 30), timezones=st.just(UTC)))
def test_timestamps_written_as_the_api_writes_them_read_back_exactly(moment):
    text = '%04d-%s' % (moment.year, moment.strftime('%m-%dT%H:%M:%S.%fZ'))  # %Y does not pad years before 1000
    assert parse_timestamp(text) == moment


@given(st.text(max_size=40))
def test_any_timestamp_text_is_a_time_or_a_clear_input_error(text):
    try:
        parse_timestamp(text, 'submitted_after')
    except CmInputError as error:
        assert error.message.startswith('submitted_after ')
