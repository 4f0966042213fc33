# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""mim.cm.cm_request with a list of ids, run by ansible-playbook against the emulator."""

from __future__ import annotations

from helpers import connection

APPROVED = ['5eed0003-0000-4000-8000-000000000001', '5EED0003-0000-4000-8000-000000000002']
EXECUTING = '5eed0018-0000-4000-8000-000000000001'
COMPLETED = '5eed0008-0000-4000-8000-000000000001'
DENIED = '5EED0004-0000-4000-8000-000000000001'
UNKNOWN = 'dddddddd-0000-4000-8000-00000000dead'


def puts(emulator):
    return [call['path'].rsplit('/', 1)[1].lower() for call in emulator.api_calls() if call['method'] == 'PUT']


def complete(ids, **task_options):
    return dict({'mim.cm.cm_request': {'ids': ids, 'status': 'completed'}}, **task_options)


def test_a_mixed_list_changes_what_it_can_and_fails_listing_exactly_the_bad_ids(emulator, run_playbook):
    ids = [APPROVED[0], COMPLETED, DENIED, UNKNOWN, APPROVED[0].upper(), EXECUTING, APPROVED[1]]
    result = run_playbook([complete(ids)], module_defaults=connection(emulator))[0]

    assert result['failed'] is True
    assert result['changed'] is True
    assert result['changed_ids'] == [APPROVED[0], EXECUTING, APPROVED[1].lower()]
    assert [request['uuid'] for request in result['requests']] == [APPROVED[0], COMPLETED, DENIED.lower(), EXECUTING, APPROVED[1].lower()]
    assert [failure['id'] for failure in result['failures']] == [DENIED.lower(), UNKNOWN]
    assert result['msg'].startswith('2 of the requests could not reach completed: ')
    assert 'the request is Denied and cannot become completed' in result['msg']
    assert 'request %s was not found' % UNKNOWN in result['msg']
    assert sorted(puts(emulator)) == sorted([APPROVED[0], EXECUTING, APPROVED[1].lower()]), 'one PUT per changeable request, no other'
    for request_id, status in ((APPROVED[0], 8), (APPROVED[1], 8), (EXECUTING, 8), (COMPLETED, 8), (DENIED, 4)):
        assert emulator.stored_request(request_id)['Status'] == status


def test_check_mode_on_a_list_sends_no_put_and_the_diff_names_each_request(emulator, run_playbook):
    result = run_playbook([complete(APPROVED + [COMPLETED], check_mode=True)], module_defaults=connection(emulator), extra_args=['--diff'])[0]
    assert result['changed'] is True and not result.get('failed')
    assert result['changed_ids'] == [APPROVED[0], APPROVED[1].lower()]
    assert result['diff']['after'] == {APPROVED[0]: {'status': 'Completed'}, APPROVED[1].lower(): {'status': 'Completed'}}
    assert puts(emulator) == []
    assert [emulator.stored_request(request_id)['Status'] for request_id in APPROVED] == [3, 3]


def test_a_list_reruns_unchanged(emulator, run_playbook):
    ids = APPROVED + [EXECUTING, COMPLETED]
    first, second = run_playbook([complete(ids), complete(ids)], module_defaults=connection(emulator)).results
    assert first['changed'] is True and not first.get('failed')
    assert second['changed'] is False and not second.get('failed')
    assert second['changed_ids'] == []
    assert [request['status'] for request in second['requests']] == ['Completed'] * 4
    assert len(puts(emulator)) == 3


def test_a_malformed_guid_anywhere_in_the_list_fails_before_any_network_traffic(emulator, run_playbook):
    result = run_playbook([complete(APPROVED + ['not-a-guid', ' '])], module_defaults=connection(emulator))[0]
    assert result['failed'] is True
    assert "item 3 'not-a-guid'" in result['msg'] and "item 4 ' '" in result['msg']
    assert emulator.exchanges() == []


def test_an_empty_list_is_a_no_op(emulator, run_playbook):
    result = run_playbook([complete([])], module_defaults=connection(emulator))[0]
    assert result['changed'] is False and not result.get('failed')
    assert result['requests'] == [] and result['changed_ids'] == []
    assert emulator.exchanges() == []


def test_id_and_ids_together_are_refused(emulator, run_playbook):
    result = run_playbook([{'mim.cm.cm_request': {'id': APPROVED[0], 'ids': APPROVED, 'status': 'completed'}}], module_defaults=connection(emulator))[0]
    assert result['failed'] is True and 'mutually exclusive' in result['msg']
