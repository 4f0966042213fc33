# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""mim.cm.cm_request by purpose (submitting, waiting) and cm_profile_template_info, run by ansible-playbook
against the emulator over HTTPS with real NTLM. The approvals a person gives in the CM portal come through
the emulator's admin door, from a thread of the test, while the playbook waits."""

from __future__ import annotations

import json
import threading
import time

import pytest

from helpers import ADMIN_LOGIN, READER_LOGIN, READER_PASSWORD, SEED_USERS, connection

ADMIN_GUID = SEED_USERS[ADMIN_LOGIN]
ALICE = 'a11ce000-0000-4000-8000-00000000a11c'
BOB = 'b0b00000-0000-4000-8000-000000000b0b'
# Three templates: no approval needed, one approval and a required item, a disabled Enroll policy.
QUICK = '7e000000-0000-4000-8000-000000000001'
VPN = '7e000000-0000-4000-8000-000000000002'
CLOSED = '7e000000-0000-4000-8000-000000000003'


def policy(approvals=0, items=(), enabled=True):
    return {'ApprovalsNeeded': approvals, 'CollectComments': False, 'Enabled': enabled, 'SelfServiceEnabled': True,
            'EnrollAgentRequired': False,
            'PolicyDataCollection': [{'Name': name, 'Required': required} for name, required in items]}


SEED = {
    'users': SEED_USERS,
    'read_only_users': [READER_LOGIN],
    'profile_templates': [
        {'Uuid': QUICK, 'Name': 'Quick Software Cert', 'IsSmartcard': False,
         'policies': {'Enroll': policy(0, [('Reason', False)]), 'Unblock': policy(0), 'Retire': policy(0)}},
        {'Uuid': VPN, 'Name': 'VPN User', 'IsSmartcard': False,
         'policies': {'Enroll': policy(1, [('Reason', True), ('Ticket', False)]), 'Unblock': policy(0)}},
        {'Uuid': CLOSED, 'Name': 'Retired Template', 'IsSmartcard': False,
         'policies': {'Enroll': policy(0, enabled=False)}},
    ],
    'requests': [],
}


@pytest.fixture
def cm(start_emulator, tmp_path):
    seed = tmp_path / 'submit-seed.json'
    seed.write_text(json.dumps(SEED))
    return start_emulator('--seed', str(seed))


def purpose(status, template=VPN, user=ALICE, **options):
    task = dict(type='enroll', target_user=user, profile_template=template, status=status)
    task.update(options)
    return {'mim.cm.cm_request': task}


def posts(emulator):
    return [call for call in emulator.api_calls() if call['method'] == 'POST']


def pending_searches(emulator):
    return [call for call in emulator.api_calls() if call['method'] == 'GET' and 'status=pending' in (call['query'] or '').lower()]


def stored_for(emulator, user):
    return [request for request in emulator.stored_requests() if request['TargetUserUuid'].lower() == user]


def test_submit_creates_one_request_and_a_second_run_sends_no_post(cm, run_playbook):
    run = run_playbook([
        dict(purpose('submitted', data_collection={'Reason': 'New hire'}), check_mode=True),
        purpose('submitted', data_collection={'Reason': 'New hire'}, comment='ticket 4711', priority=4),
        purpose('submitted', data_collection={'Reason': 'New hire'}),
    ], module_defaults=connection(cm), extra_args=['--diff'])
    check, first, again = run.results
    assert check['changed'] and check['created'] and not check.get('failed')
    assert check['request']['status'] == 'Pending' and check['approvals_needed'] == 1
    assert check['diff'] == {'before': {}, 'after': {'type': 'Enroll', 'target_user': ALICE, 'status': 'Pending'}}

    assert first['changed'] and first['created'] and not first.get('failed'), first.get('msg')
    assert first['approvals_needed'] == 1
    request = first['request']
    assert (request['status'], request['request_type'], request['request_type_code']) == ('Pending', 'Enroll', 1)
    assert (request['target_user_uuid'], request['profile_template_uuid']) == (ALICE, VPN)
    assert request['data_collection'] == [{'name': 'Reason', 'value': 'New hire'}]
    assert (request['comment'], request['priority']) == ('ticket 4711', 4)

    assert again['changed'] is False and again['created'] is False and again['request']['uuid'] == request['uuid']
    assert len(posts(cm)) == 1, 'check mode and the second run send no POST'
    assert [item['Uuid'].lower() for item in stored_for(cm, ALICE)] == [request['uuid']]
    body = posts(cm)[0]['body']
    assert body['datacollection'] == [{'Reason': 'New hire'}] and body['type'] == 'Enroll'


def test_a_second_purpose_for_the_same_user_and_template_fails_naming_the_open_request(cm, run_playbook):
    run = run_playbook([
        purpose('submitted', data_collection={'Reason': 'New hire'}),
        {'mim.cm.cm_request': dict(type='unblock', target_user=ALICE, profile_template=VPN, status='submitted')},
    ], module_defaults=connection(cm))
    first, second = run.results
    assert second['failed'] and first['request']['uuid'] in second['msg']
    assert '(Enroll, Pending)' in second['msg'] and 'cancel it first' in second['msg']
    assert len(posts(cm)) == 1


@pytest.mark.parametrize('template, data, expected', [
    (VPN, {}, 'data_collection lacks Reason, which the workflow policy requires'),
    (VPN, {'Reason': 'x', 'Reasn': 'typo'}, 'data_collection has Reasn, which the workflow policy does not list'),
    (CLOSED, {}, 'workflow policy for Enroll requests is disabled'),
])
def test_the_policy_refuses_before_any_post(cm, run_playbook, template, data, expected):
    result = run_playbook([purpose('submitted', template=template, data_collection=data)], module_defaults=connection(cm))[0]
    assert result['failed'] and expected in result['msg'] and 'nothing was sent' in result['msg']
    assert posts(cm) == []


def test_completed_goes_from_nothing_to_completed_in_one_task_then_stays(cm, run_playbook):
    run = run_playbook([purpose('completed', template=QUICK), purpose('completed', template=QUICK)], module_defaults=connection(cm))
    first, again = run.results
    assert first['changed'] and first['created'] and not first.get('failed'), first.get('msg')
    assert first['request']['status'] == 'Completed' and first['request']['completed']
    assert again['changed'] is False and again['request']['uuid'] == first['request']['uuid']
    assert [call['method'] for call in cm.api_calls() if call['method'] in ('POST', 'PUT')] == ['POST', 'PUT']


def test_a_template_name_is_resolved_and_an_unknown_one_lists_the_names(cm, run_playbook):
    run = run_playbook([
        purpose('submitted', template='quick software cert'),
        purpose('submitted', template='VPN Usr'),
    ], module_defaults=connection(cm))
    named, unknown = run.results
    assert named['created'] and named['request']['profile_template_uuid'] == QUICK
    assert unknown['failed'] and 'Quick Software Cert, Retired Template, VPN User' in unknown['msg']
    assert len(posts(cm)) == 1


def test_a_lost_post_answer_leaves_exactly_one_request(cm, run_playbook):
    cm.inject({'kind': 'reset_after', 'method': 'POST', 'path_contains': '/requests'})
    result = run_playbook([purpose('submitted', template=QUICK)], module_defaults=connection(cm, retry_delay=0.1))[0]
    assert result['changed'] and result['created'] and not result.get('failed'), result.get('msg')
    assert 'it was created' in ' '.join(result.get('warnings', []))
    assert len(stored_for(cm, ALICE)) == 1 and len(posts(cm)) == 1


def test_canceled_cancels_the_open_request_and_then_finds_nothing_open(cm, run_playbook):
    run = run_playbook([
        purpose('submitted', data_collection={'Reason': 'New hire'}),
        purpose('canceled'),
        purpose('canceled'),
        purpose('submitted', data_collection={'Reason': 'Second try'}),
    ], module_defaults=connection(cm))
    submitted, canceled, again, resubmitted = run.results
    assert canceled['changed'] and canceled['request']['uuid'] == submitted['request']['uuid']
    assert canceled['request']['status'] == 'Canceled'
    assert again['changed'] is False and again['request'] is None
    assert resubmitted['created'], 'a Canceled request does not count: a new one may be submitted'
    assert len(posts(cm)) == 2


def test_the_read_only_account_is_refused_with_the_servers_message(cm, run_playbook):
    result = run_playbook([purpose('submitted', template=QUICK)],
                          module_defaults=connection(cm, username=READER_LOGIN, password=READER_PASSWORD))[0]
    assert result['failed'] and 'POST /CertificateManagement/api/v1.0/requests failed: HTTP 403' in result['msg']
    assert stored_for(cm, ALICE) == []


def approve_when_pending(emulator, user, decision='approve', timeout=60):
    """A person in the CM portal: once a Pending request for `user` shows up, approve (or deny) it."""
    def act():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pending = [item for item in stored_for(emulator, user) if item['Status'] == 16]
            if pending:
                time.sleep(0.5)  # let the task start waiting
                getattr(emulator, decision)(pending[0]['Uuid'])
                return
            time.sleep(0.1)
    thread = threading.Thread(target=act, daemon=True)
    thread.start()
    return thread


def test_onboarding_waits_for_the_approval_then_completes(cm, run_playbook):
    person = approve_when_pending(cm, BOB)
    run = run_playbook([
        purpose('completed', user=BOB, data_collection={'Reason': 'New hire'}, wait=True, wait_timeout=60, wait_interval=0.5),
        purpose('completed', user=BOB, data_collection={'Reason': 'New hire'}, wait=True),
    ], module_defaults=connection(cm))
    person.join(5)
    first, again = run.results
    assert first['changed'] and first['created'] and not first.get('failed'), first.get('msg')
    assert first['request']['status'] == 'Completed'
    assert again['changed'] is False
    assert len(posts(cm)) == 1


def test_a_denial_while_waiting_fails_saying_so(cm, run_playbook):
    person = approve_when_pending(cm, BOB, decision='deny')
    result = run_playbook([purpose('completed', user=BOB, data_collection={'Reason': 'x'}, wait=True, wait_interval=0.5)],
                          module_defaults=connection(cm))[0]
    person.join(5)
    assert result['failed'] and 'became Denied instead of Approved' in result['msg']
    assert [call for call in cm.api_calls() if call['method'] == 'PUT'] == []


def test_a_wait_ends_at_its_deadline_saying_where_the_request_stands(cm, run_playbook):
    started = time.monotonic()
    result = run_playbook([purpose('completed', user=BOB, data_collection={'Reason': 'x'}, wait=True, wait_timeout=3, wait_interval=1)],
                          module_defaults=connection(cm))[0]
    assert result['failed'] and 'still Pending' in result['msg'] and 'wait_timeout 3' in result['msg']
    assert time.monotonic() - started < 3 + 1 + 30, 'the deadline plus one interval plus one call timeout'
    searches = pending_searches(cm)
    assert 2 <= len(searches) <= 6, 'one search per round, every interval: %d' % len(searches)


def test_profile_template_info_lists_templates_and_policies(cm, run_playbook):
    run = run_playbook([
        {'mim.cm.cm_profile_template_info': {}},
        {'mim.cm.cm_profile_template_info': {'profile_template': 'VPN User', 'request_types': ['enroll', 'revoke']}},
    ], module_defaults=connection(cm))
    listing, vpn = run.results
    assert not listing.get('failed'), listing.get('msg')
    assert sorted(item['name'] for item in listing['profile_templates']) == ['Quick Software Cert', 'Retired Template', 'VPN User']
    assert [item['uuid'] for item in vpn['profile_templates']] == [VPN]
    assert vpn['policies']['enroll']['approvals_needed'] == 1
    assert vpn['policies']['enroll']['data_collection'] == [{'name': 'Reason', 'required': True}, {'name': 'Ticket', 'required': False}]
    assert vpn['policies']['revoke'] is None or vpn['policies']['revoke']['enabled'] is False  # none set up for Revoke
    assert listing['changed'] is False and vpn['changed'] is False


def test_bad_purpose_input_fails_before_any_traffic(cm, run_playbook):
    run = run_playbook([
        purpose('submitted', user='not-a-guid'),
        {'mim.cm.cm_request': dict(type='enroll', profile_template=VPN, status='submitted', priority=300)},
        {'mim.cm.cm_request': dict(id='a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099', status='submitted')},
        {'mim.cm.cm_request': dict(type='enroll', status='submitted')},
        purpose('submitted', completed_within='a year'),
    ], module_defaults=connection(cm))
    assert all(result['failed'] for result in run.results)
    assert 'target_user' in run[0]['msg'] and 'priority' in run[1]['msg'] and 'with type (what the request is for)' in run[2]['msg']
    assert 'profile_template' in run[3]['msg'] and 'completed_within' in run[4]['msg']
    assert cm.exchanges() == []


WAITING_IDS = ['5eed0016-0000-4000-8000-0000000000%02d' % number for number in range(1, 5)]
SEED['requests'] = [
    {'Uuid': request_id, 'RequestType': 1, 'Status': 16, 'TargetUserUuid': 'c0ffee00-0000-4000-8000-0000000000%02d' % number,
     'ProfileTemplateUuid': VPN, 'Submitted': '2026-12-01T08:00:00Z'}
    for number, request_id in enumerate(WAITING_IDS, start=1)
]


def test_many_ids_wait_in_one_loop_and_are_completed_once_approved(cm, run_playbook):
    def portal():
        # Approve once the task has polled twice (two Pending searches in the log), as a person would, later.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(pending_searches(cm)) < 2:
            time.sleep(0.1)
        for request_id in WAITING_IDS:
            cm.approve(request_id)
    person = threading.Thread(target=portal, daemon=True)
    person.start()
    result = run_playbook([{'mim.cm.cm_request': dict(ids=WAITING_IDS, status='completed', wait=True, wait_interval=0.5,
                                                      wait_timeout=60)}], module_defaults=connection(cm))[0]
    person.join(5)
    assert result['changed'] and not result.get('failed'), result.get('msg')
    assert sorted(result['changed_ids']) == WAITING_IDS
    assert all(request['status'] == 'Completed' for request in result['requests'])
    gets_of_one = [call for call in cm.api_calls() if call['method'] == 'GET' and not call['query']]
    searches = pending_searches(cm)
    # Polled by searching: every round is one search, and each request is read alone only once it left Pending
    # (then once more by the change itself), never once per round.
    assert len(searches) >= 2 and len(gets_of_one) <= 2 * len(WAITING_IDS)
