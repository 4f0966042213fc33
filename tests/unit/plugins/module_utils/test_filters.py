# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Finding requests by what they are for: the filters and the checks of what the user wrote."""

from __future__ import annotations

import pytest

from ansible_collections.mim.cm.plugins.module_utils import _filters
from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError

USER = 'a0000000-0000-4000-8000-000000000002'
TEMPLATE = '0f1e2d3c-4b5a-4697-8877-665544332211'


def facts(**values):
    base = {'uuid': 'aaaaaaaa-0000-4000-8000-000000000001', 'request_type_code': 1, 'profile_template_uuid': TEMPLATE,
            'target_user_uuid': USER, 'originator_user_uuid': USER}
    base.update(values)
    return base


@pytest.mark.parametrize('names, codes, expected', [
    (['enroll'], None, {1}),
    (['unblock', 'enroll'], None, {1, 5}),
    (None, [7, 9], {7, 9}),
    (['enroll'], [7], {1, 7}),
    ([], [], set()),
])
def test_type_names_become_their_documented_numbers(names, codes, expected):
    assert _filters.type_codes(names, codes) == frozenset(expected)


def test_no_type_option_filters_nothing():
    assert _filters.type_codes(None, None) is None


def test_an_undocumented_type_name_is_refused_and_points_to_request_type_code():
    with pytest.raises(CmInputError) as caught:
        _filters.type_codes(['enroll', 'renew', 'revoke'], None)
    message = caught.value.message
    assert 'request_type renew, revoke' in message and 'request_type_code' in message
    assert 'enroll and unblock' in message and 'nothing was sent' in message


@pytest.mark.parametrize('code', [-1, True, '3'])
def test_a_bad_type_number_is_refused(code):
    with pytest.raises(CmInputError):
        _filters.type_codes(None, [code])


@pytest.mark.parametrize('value, expected', [
    (None, (None, None)),
    ('current', ('current', None)),
    (' Current ', ('current', None)),
    ('{A0000000-0000-4000-8000-000000000002}', (None, USER)),
])
def test_target_user_is_the_apis_current_or_a_guid_for_the_module(value, expected):
    assert _filters.target_user(value) == expected


def test_a_target_user_that_is_neither_current_nor_a_guid_is_refused():
    with pytest.raises(CmInputError) as caught:
        _filters.target_user('jdoe')
    assert "'jdoe' is neither 'current' nor a user's GUID" in caught.value.message


def test_templates_split_into_guids_and_names_without_traffic():
    assert _filters.split_templates([TEMPLATE.upper(), ' VPN User ']) == ([TEMPLATE], ['VPN User'])
    with pytest.raises(CmInputError):
        _filters.split_templates(['  '])


def test_the_filter_keeps_requests_that_match_every_given_option():
    wanted = _filters.RequestFilter(type_codes=frozenset([1]), profile_templates=frozenset([TEMPLATE]), target_user=USER,
                                    originator=None)
    assert wanted.matches(facts())
    assert not wanted.matches(facts(request_type_code=5))
    assert not wanted.matches(facts(request_type_code=None))
    assert not wanted.matches(facts(profile_template_uuid='11111111-4b5a-4697-8877-665544332211'))
    assert not wanted.matches(facts(target_user_uuid='a0000000-0000-4000-8000-000000000001'))
    by_originator = _filters.RequestFilter(None, None, None, 'a0000000-0000-4000-8000-000000000001')
    assert by_originator.select([facts(), facts(originator_user_uuid='a0000000-0000-4000-8000-000000000001')]) == [
        facts(originator_user_uuid='a0000000-0000-4000-8000-000000000001')]
    assert _filters.RequestFilter(None, None, None, None).matches({})
