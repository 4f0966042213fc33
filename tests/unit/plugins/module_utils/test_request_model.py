# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError
from ansible_collections.mim.cm.plugins.module_utils._request_model import (
    CHANGE,
    NO_CHANGE,
    REFUSE,
    decide,
    fold_guids,
    normalize_guid,
    predicted_facts,
    put_value,
    request_facts,
    status_diff,
    target_status,
)

# The documented example: the request as read before `PUT {"status": "Completed"}`.
DOCUMENTED_REQUEST = {
    'Uuid': 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099',
    'RequestType': 1,
    'Status': 3,
    'Flags': 2,
    'DataCollection': [{'Name': 'Reason', 'Value': 'New employee'}, {'Name': 'Badge', 'Value': None}],
    'DataCollectionFlags': 32,
    'OriginatorUserUuid': 'B1B3C2D4-1111-2222-3333-444455556666',
    'TargetUserUuid': 'b1b3c2d4-1111-2222-3333-444455556666',
    'Submitted': '2015-07-07T23:36:21.93Z',
    'Completed': '0001-01-01T00:00:00',
    'NewProfileUuid': '00000000-0000-0000-0000-000000000000',
    'OldProfileUuid': '00000000-0000-0000-0000-000000000000',
    'NewSmartcardUuid': 'C7A8E9F0-ABCD-4EF0-9123-456789ABCDEF',
    'OldSmartcardUuid': '00000000-0000-0000-0000-000000000000',
    'Priority': 0,
    'Comment': '',
    'ProfileTemplateUuid': 'F0E1D2C3-B4A5-4968-8776-655443322110',
    'SecurityDescriptor': 'O:SYG:SYD:(A;;CCLC;;;AU)\u0000\u0000\u0000',
    'IsSmartcard': True,
    'IsEnrollmentAgent': False,
    'IsDataCollectionComplete': False,
}

# Expected decision for every status number (documented ones plus an unknown 42) and every target.
DECISIONS = {
    # status: (completed, canceled, abandoned)
    0: (CHANGE, CHANGE, CHANGE),  # None
    3: (CHANGE, CHANGE, CHANGE),  # Approved
    4: (REFUSE, REFUSE, REFUSE),  # Denied
    8: (NO_CHANGE, REFUSE, REFUSE),  # Completed
    9: (REFUSE, REFUSE, NO_CHANGE),  # Failed: where abandoning leads
    16: (CHANGE, CHANGE, CHANGE),  # Pending: the server decides
    17: (REFUSE, NO_CHANGE, REFUSE),  # Canceled
    18: (CHANGE, CHANGE, CHANGE),  # Executing
    42: (CHANGE, CHANGE, CHANGE),  # unknown: not known to be terminal, the server decides
}


@pytest.mark.parametrize('status_code, target', [(code, target) for code in DECISIONS for target in ('completed', 'canceled', 'abandoned')])
def test_decide_for_every_status_and_target(status_code, target):
    expected = DECISIONS[status_code][('completed', 'canceled', 'abandoned').index(target)]
    action, reason = decide(status_code, target)
    assert action == expected
    assert (reason is not None) == (expected == REFUSE)


def test_refusal_names_the_current_status_and_the_target():
    assert decide(8, 'canceled') == (REFUSE, 'the request is Completed and cannot become canceled')
    assert decide(4, 'abandoned') == (REFUSE, 'the request is Denied and cannot become abandoned')


@pytest.mark.parametrize('target, sent, reached', [
    ('completed', 'Completed', 'Completed'),
    ('canceled', 'Canceled', 'Canceled'),
    ('abandoned', 'Abandoned', 'Failed'),
])
def test_put_value_and_target_status(target, sent, reached):
    assert put_value(target) == sent
    assert target_status(target) == reached


def test_facts_of_the_documented_request():
    facts = request_facts(DOCUMENTED_REQUEST)
    assert facts['uuid'] == 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099'
    assert (facts['status'], facts['status_code']) == ('Approved', 3)
    assert (facts['request_type'], facts['request_type_code']) == ('Enroll', 1)
    assert facts['flags'] == 2
    assert facts['data_collection_flags'] == 32
    assert facts['data_collection'] == [{'name': 'Reason', 'value': 'New employee'}, {'name': 'Badge', 'value': None}]
    assert facts['submitted'] == '2015-07-07T23:36:21.93Z'
    assert facts['completed'] is None
    assert facts['priority'] == 0
    assert facts['comment'] == ''
    assert facts['is_smartcard'] is True
    assert facts['is_enrollment_agent'] is False
    assert facts['is_data_collection_complete'] is False
    assert facts['security_descriptor'] == 'O:SYG:SYD:(A;;CCLC;;;AU)'


def test_every_guid_is_lower_case():
    facts = request_facts(DOCUMENTED_REQUEST)
    assert facts['originator_user_uuid'] == 'b1b3c2d4-1111-2222-3333-444455556666'
    assert facts['new_smartcard_uuid'] == 'c7a8e9f0-abcd-4ef0-9123-456789abcdef'
    assert facts['profile_template_uuid'] == 'f0e1d2c3-b4a5-4968-8776-655443322110'
    assert request_facts(dict(DOCUMENTED_REQUEST, Uuid='A9B4B42C-CC50-4C9B-89D1-BBC0BCD5A099'))['uuid'] == 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099'


def test_every_api_key_becomes_snake_case():
    assert set(request_facts(DOCUMENTED_REQUEST)) == {
        'uuid', 'request_type', 'request_type_code', 'status', 'status_code', 'flags', 'data_collection',
        'data_collection_flags', 'originator_user_uuid', 'target_user_uuid', 'submitted', 'completed',
        'new_profile_uuid', 'old_profile_uuid', 'new_smartcard_uuid', 'old_smartcard_uuid', 'priority', 'comment',
        'profile_template_uuid', 'security_descriptor', 'is_smartcard', 'is_enrollment_agent', 'is_data_collection_complete',
    }


def test_unknown_numbers_keep_their_number_and_get_no_name():
    facts = request_facts(dict(DOCUMENTED_REQUEST, Status=42, RequestType=7))
    assert (facts['status'], facts['status_code']) == (None, 42)
    assert (facts['request_type'], facts['request_type_code']) == (None, 7)


def test_completed_time_is_kept_once_set():
    facts = request_facts(dict(DOCUMENTED_REQUEST, Status=8, Completed='2015-07-07T23:37:37.767Z'))
    assert facts['completed'] == '2015-07-07T23:37:37.767Z'
    assert facts['status'] == 'Completed'


def test_data_collection_given_as_a_json_string():
    facts = request_facts(dict(DOCUMENTED_REQUEST, DataCollection='[{"Name": "Reason", "Value": "lost"}, {"Site": "HQ"}]'))
    assert facts['data_collection'] == [{'name': 'Reason', 'value': 'lost'}, {'name': 'Site', 'value': 'HQ'}]


def test_missing_data_collection_is_an_empty_list():
    assert request_facts(dict(DOCUMENTED_REQUEST, DataCollection=None))['data_collection'] == []


def test_predicted_facts_change_only_the_status():
    facts = request_facts(DOCUMENTED_REQUEST)
    predicted = predicted_facts(facts, 'abandoned')
    assert (predicted['status'], predicted['status_code']) == ('Failed', 9)
    assert dict(predicted, status=None, status_code=None) == dict(facts, status=None, status_code=None)
    assert facts['status'] == 'Approved', 'the facts read must not be modified'
    assert status_diff(facts, predicted) == {'before': {'status': 'Approved'}, 'after': {'status': 'Failed'}}


@pytest.mark.parametrize('value, expected', [
    ('a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099', 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099'),
    ('A9B4B42C-CC50-4C9B-89D1-BBC0BCD5A099', 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099'),
    ('{a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099}', 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099'),
    ('  a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099\n', 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099'),
])
def test_valid_guids_are_normalized(value, expected):
    assert normalize_guid(value) == expected


@pytest.mark.parametrize('value', [
    '', 'not-a-guid', 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a09', 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a0990',
    'a9b4b42ccc504c9b89d1bbc0bcd5a099', 'g9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099', '{a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099',
    'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099}', '../a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099', None, 42,
])
def test_malformed_guids_are_refused_with_the_value_in_the_message(value):
    with pytest.raises(CmInputError) as caught:
        normalize_guid(value)
    assert 'is not a GUID' in caught.value.message
    assert repr(value) in caught.value.message


def test_ten_thousand_ids_in_every_spelling_fold_to_the_distinct_requests():
    guids = ['5eed%04d-0000-4000-8000-000000000001' % number for number in range(100)]
    spellings = [(' %s ' % guid.upper()) if index % 3 else '{%s}' % guid for index in range(100) for guid in guids]
    assert len(spellings) == 10000
    assert fold_guids(spellings) == guids


def test_ten_thousand_malformed_ids_get_one_short_message():
    with pytest.raises(CmInputError) as caught:
        fold_guids(['bad-%d' % number for number in range(10000)])
    assert caught.value.message.startswith('ids holds 10000 value(s) that are not GUIDs')
    assert "item 10 'bad-9'" in caught.value.message and 'and 9990 more' in caught.value.message
    assert len(caught.value.message) < 600
