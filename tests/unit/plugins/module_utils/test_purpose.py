# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The identity rule of a purpose, the workflow policy checks and the POST body: pure functions."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError
from ansible_collections.mim.cm.plugins.module_utils._purpose import (
    MAYBE_THIS,
    OTHER_OPEN,
    THIS_REQUEST,
    UNRELATED,
    Purpose,
    check_policy,
    completed_after,
    match,
    post_body,
    predicted_request,
    relation,
    type_code_for,
)

USER = '11111111-1111-1111-1111-111111111111'
OTHER_USER = '22222222-2222-2222-2222-222222222222'
TEMPLATE = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'
OTHER_TEMPLATE = 'bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb'
CARD = 'cccccccc-cccc-cccc-cccc-cccccccccccc'
NOW = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=datetime.timezone.utc)


def purpose(**changes):
    fields = dict(type_name='Enroll', type_code=1, target_user=USER, profile_template=TEMPLATE, smartcard=None,
                  data_collection={}, comment=None, priority=None, completed_after=None)
    fields.update(changes)
    return Purpose(**fields)


def request(status='Pending', type_code=1, user=USER, template=TEMPLATE, uuid='r1', completed=None, submitted='2026-12-01T00:00:00Z', **more):
    facts = dict(uuid=uuid, status=status, request_type_code=type_code, target_user_uuid=user,
                 profile_template_uuid=template, completed=completed, submitted=submitted)
    facts.update(more)
    return facts


@pytest.mark.parametrize('status', ['Pending', 'Approved', 'Executing', 'Completed'])
def test_an_open_or_completed_request_of_the_same_purpose_is_this_request(status):
    assert relation(purpose(), request(status=status)) == THIS_REQUEST


@pytest.mark.parametrize('status', ['Denied', 'Canceled', 'Failed', None])
def test_denied_canceled_and_failed_requests_do_not_count(status):
    assert relation(purpose(), request(status=status)) == UNRELATED


@pytest.mark.parametrize('changes', [dict(user=OTHER_USER), dict(template=OTHER_TEMPLATE)])
def test_another_user_or_template_is_unrelated(changes):
    assert relation(purpose(), request(**changes)) == UNRELATED


def test_an_open_request_of_a_known_other_type_blocks_and_a_completed_one_does_not():
    assert relation(purpose(), request(type_code=5)) == OTHER_OPEN
    assert relation(purpose(), request(type_code=7)) == OTHER_OPEN  # 7 is not 1: known to differ from Enroll
    assert relation(purpose(), request(type_code=5, status='Completed')) == UNRELATED


def test_an_undocumented_number_may_be_an_undocumented_type_but_never_a_documented_one():
    renew = purpose(type_name='Renew', type_code=None)
    assert relation(renew, request(type_code=7)) == MAYBE_THIS
    assert relation(renew, request(type_code=7, status='Completed')) == MAYBE_THIS
    assert relation(renew, request(type_code=1)) == OTHER_OPEN
    assert relation(renew._replace(type_code=7), request(type_code=7)) == THIS_REQUEST


def test_completed_within_keeps_only_recent_completed_requests():
    yearly = purpose(completed_after=completed_after('365d', now=NOW))
    assert relation(yearly, request(status='Completed', completed='2026-06-01T10:00:00.5Z')) == THIS_REQUEST
    assert relation(yearly, request(status='Completed', completed='2025-06-01T10:00:00Z')) == UNRELATED
    assert relation(yearly, request(status='Completed', completed=None)) == UNRELATED
    assert relation(yearly, request(status='Pending')) == THIS_REQUEST  # the window is about Completed requests only


def test_without_a_target_user_the_searches_already_hold_only_the_callers_requests():
    assert relation(purpose(target_user=None), request(user=OTHER_USER)) == THIS_REQUEST


def test_a_card_bound_purpose_without_template_is_matched_by_its_card():
    unblock = purpose(type_name='Unblock', type_code=5, profile_template=None, smartcard=CARD)
    assert relation(unblock, request(type_code=5, old_smartcard_uuid=CARD)) == THIS_REQUEST
    assert relation(unblock, request(type_code=5, new_smartcard_uuid=CARD)) == THIS_REQUEST
    assert relation(unblock, request(type_code=5)) == UNRELATED


def test_match_sorts_newest_first_and_keeps_open_and_completed_apart():
    found = match(purpose(), [
        request(uuid='old', status='Completed', submitted='2025-01-01T00:00:00Z'),
        request(uuid='open', status='Approved', submitted='2026-11-01T00:00:00Z'),
        request(uuid='new', status='Completed', submitted='2026-01-01T00:00:00Z'),
        request(uuid='other', type_code=5),
    ])
    assert [item['uuid'] for item in found.this_open] == ['open']
    assert [item['uuid'] for item in found.this_completed] == ['new', 'old']
    assert [item['uuid'] for item in found.other_open] == ['other']


@pytest.mark.parametrize('option, code, expected', [('enroll', None, 1), ('unblock', None, 5), ('renew', None, None), ('renew', 7, 7)])
def test_type_numbers_are_the_documented_ones_or_the_users(option, code, expected):
    assert type_code_for(option, code) == expected


@pytest.mark.parametrize('option, code', [('enroll', 3), ('renew', -1)])
def test_a_type_code_that_contradicts_the_documentation_is_refused(option, code):
    with pytest.raises(CmInputError):
        type_code_for(option, code)


POLICY = {'ApprovalsNeeded': 1, 'CollectComments': False, 'Enabled': True,
          'PolicyDataCollection': [{'Name': 'Reason', 'Required': True}, {'Name': 'Ticket', 'Required': False}]}


def test_a_complete_submission_passes_the_policy_and_reports_the_approvals():
    check = check_policy(POLICY, purpose(data_collection={'reason': 'New hire'}))
    assert check.problems == [] and check.warnings == [] and check.approvals_needed == 1


def test_a_missing_required_item_an_unlisted_item_and_a_disabled_policy_are_refused():
    check = check_policy(dict(POLICY, Enabled=False), purpose(data_collection={'Reasn': 'typo'}))
    assert len(check.problems) == 3
    assert 'disabled' in check.problems[0]
    assert 'lacks Reason' in check.problems[1]
    assert 'Reasn' in check.problems[2] and 'Reason, Ticket' in check.problems[2]


@pytest.mark.parametrize('policy', [
    dict(POLICY, PolicyDataCollection='coming soon'),
    dict(POLICY, PolicyDataCollection=[{'Label': 'Reason'}]),
    dict(POLICY, PolicyDataCollection=[{'Name': 'Reason', 'Required': 'yes'}]),
])
def test_a_policy_shape_we_cannot_read_warns_and_lets_the_server_decide(policy):
    check = check_policy(policy, purpose(data_collection={'Anything': 'x'}))
    assert check.problems == []
    assert 'could not be read' in check.warnings[0]


def test_no_policy_at_all_warns_and_a_comment_hint_is_only_a_warning():
    assert check_policy(None, purpose()).warnings and check_policy(None, purpose()).problems == []
    check = check_policy(dict(POLICY, CollectComments=True), purpose(data_collection={'Reason': 'x'}))
    assert check.problems == [] and 'comment' in check.warnings[0]


def test_the_post_body_has_the_documented_keys_and_datacollection_as_one_key_objects():
    body = post_body(purpose(data_collection={'Reason': 'New hire', 'Ticket': None}, comment='c', priority=4, smartcard=CARD))
    assert body == {'profiletemplateuuid': TEMPLATE, 'datacollection': [{'Reason': 'New hire'}, {'Ticket': None}],
                    'type': 'Enroll', 'target': USER, 'comment': 'c', 'priority': 4, 'smartcard': CARD}
    assert 'target' not in post_body(purpose(target_user=None))


def test_check_mode_predicts_pending_unless_the_policy_needs_no_approval():
    assert predicted_request(purpose(), 1)['status'] == 'Pending'
    assert predicted_request(purpose(), None)['status'] == 'Pending'
    assert predicted_request(purpose(), 0)['status_code'] == 3
