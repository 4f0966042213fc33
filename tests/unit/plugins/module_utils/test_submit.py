# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The purpose flow (find, check the policy, POST once, wait, change) against the shared fake CM client."""

from __future__ import annotations

import pytest

from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError, CmRequestStateError
from ansible_collections.mim.cm.plugins.module_utils._purpose import Purpose
from ansible_collections.mim.cm.plugins.module_utils._request_model import STATUS_CODES as CODES
from ansible_collections.mim.cm.plugins.module_utils._submit import WaitOptions, reach, resolve_profile_template
from ansible_collections.mim.cm.tests.unit.conftest import DROPPED, LOST, FakeCmClient

USER = '11111111-1111-1111-1111-111111111111'
TEMPLATE = 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa'
NO_WAIT = WaitOptions(False, 600, 10)
TEMPLATES = [{'Uuid': TEMPLATE.upper(), 'Name': 'VPN User', 'IsSmartcard': False},
             {'Uuid': 'b' * 8 + '-bbbb-bbbb-bbbb-' + 'b' * 12, 'Name': 'Smartcard', 'IsSmartcard': True}]
NO_APPROVAL = {'ApprovalsNeeded': 0, 'Enabled': True, 'PolicyDataCollection': []}


def cm_server(policy=None, requests=(), **what_the_server_does):
    """The shared fake client with the VPN template, whose Enroll policy is `policy` (default: no approval needed)."""
    return FakeCmClient(requests, templates=TEMPLATES, policies={(TEMPLATE, 'Enroll'): policy if policy is not None else NO_APPROVAL},
                        **what_the_server_does)


def sent(server, method):
    return [call for call in server.calls if call[0] == method]


def purpose(**changes):
    fields = dict(type_name='Enroll', type_code=1, target_user=USER, profile_template=TEMPLATE, smartcard=None,
                  data_collection={}, comment=None, priority=None, completed_after=None)
    fields.update(changes)
    return Purpose(**fields)


def stored(uuid, status, type_code=1):
    return {'Uuid': uuid, 'Status': CODES[status], 'RequestType': type_code, 'TargetUserUuid': USER.upper(),
            'ProfileTemplateUuid': TEMPLATE, 'Completed': '0001-01-01T00:00:00', 'Submitted': '2026-12-01T00:00:00Z'}


def test_submitted_creates_one_request_and_a_second_run_finds_it():
    server = cm_server(policy={'ApprovalsNeeded': 1, 'Enabled': True})
    first = reach(server, purpose(), 'submitted', NO_WAIT)
    assert first.changed and first.created and first.approvals_needed == 1
    assert first.request['status'] == 'Pending' and first.diff['before'] == {}
    second = reach(server, purpose(), 'submitted', NO_WAIT)
    assert not second.changed and not second.created and second.request['uuid'] == first.request['uuid']
    assert len(sent(server, 'POST')) == 1
    assert ('POLICY', TEMPLATE, 'Enroll') in server.calls


def test_a_completed_request_counts_so_nothing_is_submitted_again():
    server = cm_server(requests=[stored('c0000000-0000-0000-0000-000000000001', 'Completed')])
    outcome = reach(server, purpose(), 'submitted', NO_WAIT)
    assert not outcome.changed and outcome.request['status'] == 'Completed'
    assert sent(server, 'POST') == [] and sent(server, 'POLICY') == []


@pytest.mark.parametrize('status', ['Denied', 'Canceled', 'Failed'])
def test_a_denied_canceled_or_failed_request_does_not_count(status):
    server = cm_server(requests=[stored('d0000000-0000-0000-0000-000000000001', status)])
    assert reach(server, purpose(), 'submitted', NO_WAIT).created


def test_an_open_request_of_another_type_blocks_the_submission_naming_it():
    server = cm_server(requests=[stored('e0000000-0000-0000-0000-000000000001', 'Pending', type_code=5)])
    with pytest.raises(CmRequestStateError) as caught:
        reach(server, purpose(), 'submitted', NO_WAIT)
    assert 'e0000000-0000-0000-0000-000000000001 (Unblock, Pending)' in caught.value.message
    assert 'nothing was sent' in caught.value.message and sent(server, 'POST') == []


def test_a_missing_required_item_fails_before_any_post():
    server = cm_server(policy={'ApprovalsNeeded': 0, 'PolicyDataCollection': [{'Name': 'Reason', 'Required': True}]})
    with pytest.raises(CmRequestStateError) as caught:
        reach(server, purpose(), 'submitted', NO_WAIT)
    assert 'lacks Reason' in caught.value.message and sent(server, 'POST') == []


def test_check_mode_reads_but_sends_nothing_and_predicts():
    server = cm_server(policy={'ApprovalsNeeded': 1})
    outcome = reach(server, purpose(), 'submitted', NO_WAIT, check_mode=True)
    assert outcome.changed and outcome.created and outcome.request['status'] == 'Pending'
    assert outcome.diff == {'before': {}, 'after': {'type': 'Enroll', 'target_user': USER, 'status': 'Pending'}}
    assert sent(server, 'POST') == [] and sent(server, 'PUT') == []


def test_completed_goes_from_nothing_to_completed_in_one_task_when_no_approval_is_needed():
    server = cm_server()
    outcome = reach(server, purpose(), 'completed', NO_WAIT)
    assert outcome.changed and outcome.created and outcome.request['status'] == 'Completed'
    assert [call[0] for call in server.calls if call[0] in ('POST', 'PUT')] == ['POST', 'PUT']
    assert not reach(server, purpose(), 'completed', NO_WAIT).changed
    assert len(sent(server, 'POST')) == 1


def test_completed_on_a_pending_request_without_wait_fails_saying_what_to_do():
    server = cm_server(policy={'ApprovalsNeeded': 1})
    with pytest.raises(CmRequestStateError) as caught:
        reach(server, purpose(), 'completed', NO_WAIT)
    assert 'waits for approval' in caught.value.message and 'wait: true' in caught.value.message
    assert caught.value.details['created'] is True and sent(server, 'PUT') == []


def test_a_lost_post_answer_is_searched_for_and_never_sent_twice():
    server = cm_server(post_script=[LOST])
    outcome = reach(server, purpose(), 'submitted', NO_WAIT)
    assert outcome.created and len(sent(server, 'POST')) == 1 and len(server.stored) == 1
    assert 'it was created' in server.warnings[0]


def test_a_post_lost_before_the_server_saw_it_is_sent_again_after_a_search():
    server = cm_server(post_script=[DROPPED])
    outcome = reach(server, purpose(), 'submitted', NO_WAIT)
    assert outcome.created and len(sent(server, 'POST')) == 2 and len(server.stored) == 1


def test_canceled_cancels_the_open_request_and_nothing_open_is_ok():
    server = cm_server(requests=[stored('f0000000-0000-0000-0000-000000000001', 'Approved')])
    outcome = reach(server, purpose(), 'canceled', NO_WAIT)
    assert outcome.changed and outcome.request['status'] == 'Canceled' and not outcome.created
    again = reach(server, purpose(), 'canceled', NO_WAIT)
    assert not again.changed and again.request is None
    assert sent(server, 'POST') == [] and not any(call[1] == 'Completed' for call in sent(server, 'SEARCH'))


def test_an_undocumented_type_is_never_canceled_by_guess():
    server = cm_server(requests=[stored('f0000000-0000-0000-0000-000000000002', 'Pending', type_code=7)])
    with pytest.raises(CmRequestStateError) as caught:
        reach(server, purpose(type_name='Renew', type_code=None), 'canceled', NO_WAIT)
    assert 'type number 7' in caught.value.message and 'type_code' in caught.value.message
    assert sent(server, 'PUT') == []


def test_an_undocumented_type_is_taken_as_this_request_when_submitting_with_a_warning():
    server = cm_server(requests=[stored('f0000000-0000-0000-0000-000000000003', 'Approved', type_code=7)])
    outcome = reach(server, purpose(type_name='Renew', type_code=None), 'submitted', NO_WAIT)
    assert not outcome.changed and outcome.request['uuid'] == 'f0000000-0000-0000-0000-000000000003'
    assert 'type_code' in server.warnings[0] and sent(server, 'POST') == []


def test_without_target_user_the_searches_ask_the_server_for_the_callers_requests():
    server = cm_server()
    reach(server, purpose(target_user=None), 'canceled', NO_WAIT)
    assert {call[2] for call in sent(server, 'SEARCH')} == {'current'}


def test_a_template_name_is_resolved_and_an_unknown_one_lists_the_names():
    server = cm_server()
    assert resolve_profile_template(server, 'vpn user') == TEMPLATE
    with pytest.raises(CmInputError) as caught:
        resolve_profile_template(server, 'VPN Usr')
    assert 'Smartcard, VPN User' in caught.value.message


QUICK_WAIT = WaitOptions(True, 5, 0.01)


def test_completed_with_wait_waits_for_the_approval_then_completes():
    server = cm_server(policy={'ApprovalsNeeded': 1}, decide_after_searches=3)
    outcome = reach(server, purpose(), 'completed', QUICK_WAIT)
    assert outcome.created and outcome.request['status'] == 'Completed'
    assert len(sent(server, 'POST')) == 1 and [call[2] for call in sent(server, 'PUT')] == ['Completed']
    assert sent(server, 'GET')  # the one request that left the Pending search was read once to learn where it went


@pytest.mark.parametrize('decision', ['Denied', 'Canceled'])
def test_a_request_denied_or_canceled_while_waiting_fails_saying_so(decision):
    server = cm_server(policy={'ApprovalsNeeded': 1}, decide_after_searches=2, decision=decision)
    with pytest.raises(CmRequestStateError) as caught:
        reach(server, purpose(), 'completed', QUICK_WAIT)
    assert 'became %s instead of Approved' % decision in caught.value.message
    assert sent(server, 'PUT') == []


def test_a_wait_that_times_out_says_how_long_and_where_the_request_stands():
    server = cm_server(policy={'ApprovalsNeeded': 1})
    with pytest.raises(CmRequestStateError) as caught:
        reach(server, purpose(), 'completed', WaitOptions(True, 0.05, 0.01))
    assert 'still Pending' in caught.value.message and 'wait_timeout 0.05' in caught.value.message
    assert sent(server, 'PUT') == []


def test_submitted_with_wait_returns_once_approved_and_check_mode_never_waits():
    server = cm_server(policy={'ApprovalsNeeded': 1}, decide_after_searches=1)
    outcome = reach(server, purpose(), 'submitted', QUICK_WAIT)
    assert outcome.request['status'] == 'Approved' and sent(server, 'PUT') == []
    idle = cm_server(policy={'ApprovalsNeeded': 1})
    predicted = reach(idle, purpose(), 'completed', QUICK_WAIT, check_mode=True)
    assert predicted.request['status'] == 'Completed' and sent(idle, 'POST') == []
    assert len(sent(idle, 'SEARCH')) == 4  # the four searches that find the purpose, no polling


def test_profile_template_info_lists_templates_and_reads_each_policy_asked_for():
    from ansible_collections.mim.cm.plugins.modules import cm_profile_template_info

    class Module(object):
        params = {'profile_template': 'VPN User', 'request_types': ['enroll', 'enroll', 'unblock']}

    server = cm_server(policy={'ApprovalsNeeded': 2, 'Enabled': True, 'PolicyDataCollection': [{'Name': 'Reason', 'Required': True}]})
    templates, policies = cm_profile_template_info.run(Module(), server)
    assert templates == [{'uuid': TEMPLATE, 'name': 'VPN User', 'is_smartcard': False}]
    assert sorted(policies) == ['enroll', 'unblock'] and len(sent(server, 'POLICY')) == 2
    assert policies['enroll'] == {'approvals_needed': 2, 'enabled': True, 'data_collection': [{'name': 'Reason', 'required': True}]}
    Module.params = {'profile_template': None, 'request_types': ['enroll']}
    templates, policies = cm_profile_template_info.run(Module(), server)
    assert [item['name'] for item in templates] == ['VPN User', 'Smartcard'] and policies is None


def test_ids_wait_together_with_one_pending_search_per_round():
    from ansible_collections.mim.cm.plugins.module_utils._submit import wait_for_approvals
    ids = ['10000000-0000-0000-0000-00000000000%d' % number for number in range(1, 6)]
    server = cm_server(requests=[stored(ids[0], 'Approved')] + [stored(request_id, 'Pending') for request_id in ids[1:]],
                       decide_after_searches=3)
    assert wait_for_approvals(server, ids, 'completed', QUICK_WAIT) == {}
    searches = sent(server, 'SEARCH')
    assert searches and all(call[1] == 'Pending' for call in searches) and len(searches) == 4
    assert len(sent(server, 'GET')) == 4, 'one GET for each request that left Pending, not one per request per round'
    assert wait_for_approvals(server, ids, 'canceled', QUICK_WAIT) == {} and len(sent(server, 'SEARCH')) == 4, 'canceling never waits'


def test_ids_still_pending_at_the_deadline_are_reported_and_the_rest_go_on():
    from ansible_collections.mim.cm.plugins.module_utils._submit import wait_for_approvals
    ids = ['20000000-0000-0000-0000-000000000001', '20000000-0000-0000-0000-000000000002']
    server = cm_server(requests=[stored(ids[0], 'Pending'), stored(ids[1], 'Approved')])
    timed_out = wait_for_approvals(server, ids, 'abandoned', WaitOptions(True, 0.05, 0.01))
    assert list(timed_out) == [ids[0]] and 'still Pending' in timed_out[ids[0]]


def test_after_waiting_the_change_decides_from_a_fresh_read_not_the_search_before_the_wait():
    server = cm_server(requests=[stored('30000000-0000-0000-0000-000000000001', 'Pending')], decide_after_searches=2)
    outcome = reach(server, purpose(), 'completed', QUICK_WAIT)
    assert outcome.changed and not outcome.created and outcome.request['status'] == 'Completed'
    assert outcome.diff == {'before': {'status': 'Approved'}, 'after': {'status': 'Completed'}}, 'the person approved; the task completed'
