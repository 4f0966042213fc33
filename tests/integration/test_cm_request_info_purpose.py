# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""mim.cm.cm_request_info finding requests by what they are for, and waiting for them, against the emulator."""

from __future__ import annotations

import threading
import time

from helpers import SEED, connection, found_ids, info

ADMIN = SEED['users']['CONTOSO\\cmadmin'].lower()
READER = SEED['users']['CONTOSO\\cmreader'].lower()
USER_3 = 'a0000000-0000-4000-8000-000000000003'
TEMPLATE = '0f1e2d3c-4b5a-4697-8877-665544332211'
PENDING_ENROLL = '5eed0016-0000-4000-8000-000000000001'
APPROVED_ENROLL = '5eed0003-0000-4000-8000-000000000001'


def seeded(**wanted):
    """The GUIDs of the seed's requests whose fields (API names, compared without case) have the given values."""
    def matches(request):
        return all(str(request.get(key)).lower() == str(value).lower() for key, value in wanted.items())
    return sorted(request['Uuid'].lower() for request in SEED['requests'] if matches(request))


def test_find_by_type_target_user_originator_and_template(emulator, run_playbook):
    run = run_playbook([
        info(status=['pending', 'approved'], request_type='enroll'),
        info(status='pending', request_type=['unblock'], request_type_code=[42]),
        info(target_user=USER_3.upper()),
        info(originator='{%s}' % ADMIN.upper(), status='approved'),
        info(profile_template=[TEMPLATE.upper()], request_type='unblock', target_user=READER),
    ], module_defaults=connection(emulator))
    assert found_ids(run[0]) == sorted(seeded(Status=16, RequestType=1) + seeded(Status=3, RequestType=1))
    assert found_ids(run[1]) == sorted(seeded(Status=16, RequestType=5) + seeded(Status=16, RequestType=42))
    assert found_ids(run[2]) == seeded(TargetUserUuid=USER_3)
    assert found_ids(run[3]) == seeded(OriginatorUserUuid=ADMIN, Status=3)
    assert found_ids(run[4]) == seeded(ProfileTemplateUuid=TEMPLATE, RequestType=5, TargetUserUuid=READER)
    assert all(found_ids(result) for result in run.results)  # every filter found something: none passed by accident
    # The API filters by status only: one search per status, and the module filters the rest.
    expected = ['status=Pending', 'status=Approved', 'status=Pending', '', 'status=Approved', '']
    assert [call['query'] for call in emulator.api_calls()] == expected


def test_find_by_template_name(emulator, run_playbook):
    run = run_playbook([info(status='pending', profile_template=['user certificate']),
                        info(status='pending', profile_template=['VPN User']),
                        info(status='pending', profile_template=['No Such Template'])], module_defaults=connection(emulator))
    assert found_ids(run[0]) == seeded(ProfileTemplateUuid=TEMPLATE, Status=16)
    assert found_ids(run[1]) == []
    assert run[2]['failed'] and 'VPN User' in run[2]['msg'] and 'User Certificate' in run[2]['msg']
    # One GET /profiletemplates before each search; the unknown name stops before any search.
    assert [call['path'].rsplit('/', 1)[-1] + ('?' + call['query'] if call.get('query') else '')
            for call in emulator.api_calls()] == ['profiletemplates', 'requests?status=Pending'] * 2 + ['profiletemplates']


def test_a_type_name_whose_number_is_undocumented_fails_before_any_traffic(emulator, run_playbook):
    run = run_playbook([info(request_type='renew'), info(target_user='jdoe'), info(originator='current'),
                        info(id=PENDING_ENROLL, wait_for='approved', wait_interval=0)], module_defaults=connection(emulator))
    assert 'request_type renew' in run[0]['msg'] and 'request_type_code' in run[0]['msg']
    assert "target_user 'jdoe' is neither 'current' nor a user's GUID" in run[1]['msg']
    assert "originator 'current' is not a GUID" in run[2]['msg']
    assert 'wait_interval must be more than 0 seconds' in run[3]['msg']
    assert all(result['failed'] for result in run.results)
    assert emulator.exchanges() == []


class Person(object):
    """Someone who acts on a request in the CM portal while a task waits, once the task has polled `after_searches` times.

    `action` is the emulator's admin door call (approve, deny, execute) that stands in for the portal.
    """

    def __init__(self, emulator, action, after_searches=1):
        self.emulator = emulator
        self.action = action
        self.after_searches = after_searches
        self.thread = threading.Thread(target=self._act, daemon=True)
        self.request = None
        self.error = None

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.thread.join(60)
        assert self.error is None and self.request is not None, self.error

    def _searches(self):
        return [call for call in self.emulator.api_calls() if call['method'] == 'GET' and 'status=' in call.get('query', '')]

    def _act(self):
        deadline = time.monotonic() + 60
        while len(self._searches()) < self.after_searches and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            self.request = self.action()
        except Exception as error:  # pylint: disable=broad-except
            self.error = error


def test_wait_for_completed_returns_once_someone_completes_the_request(emulator, run_playbook):
    with Person(emulator, lambda: emulator.execute(APPROVED_ENROLL, complete=True), after_searches=2) as person:
        result = run_playbook([info(id=APPROVED_ENROLL, wait_for='completed', wait_interval=0.3, wait_timeout=20)],
                              module_defaults=connection(emulator))[0]
    assert found_ids(result) == [APPROVED_ENROLL]
    assert result['requests'][0]['status'] == 'Completed'
    assert 0.3 <= result['waited_seconds'] < 20
    calls = ['%s %s' % (call['method'], call.get('query') or call['path'].rsplit('/', 1)[-1]) for call in emulator.api_calls()]
    # One GET to find it, then rounds of one search per status it may still be in, then one GET once it left them.
    assert calls[0] == 'GET %s' % APPROVED_ENROLL
    polls = [call for call in emulator.api_calls()[1:] if call['method'] == 'GET']
    searches = [call for call in polls if call.get('query')]
    assert {call['query'] for call in searches} == {'status=Pending', 'status=Approved', 'status=Executing'}
    assert len(searches) % 3 == 0 and len(searches) >= 6
    assert len(polls) - len(searches) == 1  # the single GET after it left the searches
    assert person.request['Status'] == 8


def test_wait_for_fails_when_the_request_ends_elsewhere(emulator, run_playbook):
    with Person(emulator, lambda: emulator.deny(PENDING_ENROLL)):
        result = run_playbook([info(id=PENDING_ENROLL, wait_for='approved', wait_interval=0.3, wait_timeout=20)],
                              module_defaults=connection(emulator))[0]
    assert result['failed']
    assert result['msg'].startswith('1 request never will be Approved: request %s is Denied' % PENDING_ENROLL)
    assert result['requests'][0]['status'] == 'Denied'


def test_wait_for_approved_returns_once_a_person_approves_in_the_portal(emulator, run_playbook):
    with Person(emulator, lambda: emulator.approve(PENDING_ENROLL)):
        result = run_playbook([info(id=PENDING_ENROLL, wait_for='approved', wait_interval=0.3, wait_timeout=20)],
                              module_defaults=connection(emulator))[0]
    assert found_ids(result) == [PENDING_ENROLL] and result['requests'][0]['status'] == 'Approved'
    assert emulator.applied_puts() == 0  # waiting changes nothing


def test_wait_for_gives_up_at_the_deadline_saying_where_the_requests_stand(emulator, run_playbook):
    started = time.monotonic()
    result = run_playbook([info(status='pending', request_type='enroll', wait_for='approved', wait_interval=0.4, wait_timeout=2)],
                          module_defaults=connection(emulator))[0]
    assert time.monotonic() - started < 30
    pending_enrolls = seeded(Status=16, RequestType=1)
    assert result['failed'] and sorted(request['uuid'] for request in result['requests']) == pending_enrolls
    assert result['msg'].startswith('gave up waiting for %d request' % len(pending_enrolls))
    assert 'request %s is still Pending (submitted 2024-03-01T08:00:00Z)' % PENDING_ENROLL in result['msg']
    assert 2 <= result['waited_seconds'] <= 2 + 0.4 + 30
    # Each round cost one search, whatever the number of requests: Pending is the only status before Approved.
    assert [call['query'] for call in emulator.api_calls()] == ['status=Pending'] * (1 + result['wait_rounds'])
    assert result['wait_rounds'] >= 3


def test_wait_for_in_check_mode_does_not_wait(emulator, run_playbook):
    result = run_playbook([dict(info(id=PENDING_ENROLL, wait_for='completed', wait_timeout=600), check_mode=True)],
                          module_defaults=connection(emulator))[0]
    assert found_ids(result) == [PENDING_ENROLL] and result['waited_seconds'] == 0
    assert len(emulator.api_calls()) == 1
