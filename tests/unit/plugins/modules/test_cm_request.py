# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""cm_request's run() against a fake client: the decisions and the calls they lead to."""

from __future__ import annotations

import functools

import pytest

from ansible_collections.mim.cm.plugins.module_utils._errors import CmConnectionError, CmInputError, CmRequestStateError
from ansible_collections.mim.cm.plugins.modules import cm_request
from ansible_collections.mim.cm.tests.unit.conftest import FakeCmClient, FakeModule as SharedFakeModule

REQUEST_ID = 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099'


def FakeClient(status=None, statuses=None, **behaviour):
    """The shared fake client (tests/unit/conftest.py) holding these requests: {GUID: status number}, or REQUEST_ID's."""
    statuses = statuses or {REQUEST_ID: status}
    return FakeCmClient([{'Uuid': request_id.upper(), 'Status': code, 'RequestType': 1, 'Completed': '0001-01-01T00:00:00'}
                         for request_id, code in statuses.items()], **behaviour)


def FakeModule(request_id, status, check_mode=False, ids=None, workers=1, read_strategy='get'):
    return SharedFakeModule(cm_request.argument_spec(), check_mode=check_mode, id=request_id, ids=ids, status=status,
                            workers=workers, read_strategy=read_strategy)


def run_single(module, client):
    """cm_request.run() for the single-id form, as (changed, request, diff)."""
    failure, result = cm_request.run(module, client)
    assert failure is None
    return result['changed'], result['request'], result.get('diff')


def test_a_request_already_in_the_target_is_left_alone():
    client = FakeClient(status=8)
    changed, request, diff = run_single(FakeModule(REQUEST_ID, 'completed'), client)
    assert changed is False
    assert request['status'] == 'Completed'
    assert diff is None
    assert client.calls == [('GET', REQUEST_ID)]


def test_an_approved_request_is_completed_with_one_put():
    client = FakeClient(status=3)
    changed, request, diff = run_single(FakeModule(REQUEST_ID.upper(), 'completed'), client)
    assert changed is True
    assert (request['status'], request['status_code']) == ('Completed', 8)
    assert diff == {'before': {'status': 'Approved'}, 'after': {'status': 'Completed'}}
    assert client.calls == [('GET', REQUEST_ID), ('PUT', REQUEST_ID, 'Completed')]


def test_abandoned_sends_abandoned_and_is_reached_as_failed():
    client = FakeClient(status=18)
    changed, request, diff = run_single(FakeModule(REQUEST_ID, 'abandoned'), client)
    assert changed is True
    assert request['status'] == 'Failed'
    assert client.calls[-1] == ('PUT', REQUEST_ID, 'Abandoned')
    assert run_single(FakeModule(REQUEST_ID, 'abandoned'), client)[0] is False


def test_a_put_answered_with_204_is_followed_by_a_get():
    client = FakeClient(status=16, answer_put_with=204)
    changed, request, dummy = run_single(FakeModule(REQUEST_ID, 'canceled'), client)
    assert changed is True
    assert request['status'] == 'Canceled'
    assert client.calls == [('GET', REQUEST_ID), ('PUT', REQUEST_ID, 'Canceled'), ('GET', REQUEST_ID)]


def test_a_put_that_leaves_another_status_fails_saying_what_it_is_now():
    client = FakeClient(status=3, status_after_put=18)
    with pytest.raises(CmRequestStateError) as caught:
        run_single(FakeModule(REQUEST_ID, 'completed'), client)
    assert 'is now Executing (status 18), not Completed' in caught.value.message


@pytest.mark.parametrize('status, target, name', [
    (8, 'canceled', 'Completed'), (4, 'completed', 'Denied'), (17, 'abandoned', 'Canceled'), (9, 'completed', 'Failed'),
])
def test_a_terminal_request_fails_without_a_put(status, target, name):
    client = FakeClient(status=status)
    with pytest.raises(CmRequestStateError) as caught:
        run_single(FakeModule(REQUEST_ID, target), client)
    assert 'the request is %s and cannot become %s' % (name, target) in caught.value.message
    assert client.calls == [('GET', REQUEST_ID)]


def test_an_unknown_request_fails_naming_the_guid():
    client = FakeClient(status=3)
    other = 'dddddddd-0000-4000-8000-000000000001'
    with pytest.raises(CmRequestStateError) as caught:
        run_single(FakeModule(other, 'completed'), client)
    assert 'request %s was not found' % other in caught.value.message


def test_check_mode_predicts_without_a_put():
    client = FakeClient(status=3)
    changed, request, diff = run_single(FakeModule(REQUEST_ID, 'abandoned', check_mode=True), client)
    assert changed is True
    assert (request['status'], request['status_code']) == ('Failed', 9)
    assert diff == {'before': {'status': 'Approved'}, 'after': {'status': 'Failed'}}
    assert client.calls == [('GET', REQUEST_ID)]
    assert client.stored[REQUEST_ID]['Status'] == 3


def test_a_malformed_guid_fails_before_any_call():
    client = FakeClient(status=3)
    with pytest.raises(CmInputError):
        run_single(FakeModule('a9b4b42c-cc50', 'completed'), client)
    assert client.calls == []


# --- the list form (ids) ---------------------------------------------------------------------------

APPROVED = 'aaaaaaaa-0000-4000-8000-000000000003'
ALSO_APPROVED = 'aaaaaaaa-0000-4000-8000-000000000033'
COMPLETED = 'aaaaaaaa-0000-4000-8000-000000000008'
DENIED = 'aaaaaaaa-0000-4000-8000-000000000004'
PENDING = 'aaaaaaaa-0000-4000-8000-000000000016'
UNKNOWN = 'aaaaaaaa-0000-4000-8000-00000000dead'
MIXED = {APPROVED: 3, ALSO_APPROVED: 3, COMPLETED: 8, DENIED: 4, PENDING: 16}


def test_ids_converge_each_request_and_report_every_failure_at_the_end():
    client = FakeClient(statuses=MIXED, refuse_puts_for={PENDING})
    ids = [APPROVED, COMPLETED, DENIED, UNKNOWN, APPROVED.upper(), PENDING, ALSO_APPROVED]
    failure, result = cm_request.run(FakeModule(None, 'completed', ids=ids), client)

    assert result['changed'] is True
    assert result['changed_ids'] == [APPROVED, ALSO_APPROVED]
    assert [request['uuid'] for request in result['requests']] == [APPROVED, COMPLETED, DENIED, PENDING, ALSO_APPROVED]
    assert [request['status'] for request in result['requests']] == ['Completed', 'Completed', 'Denied', 'Pending', 'Completed']
    assert [item['id'] for item in result['failures']] == [DENIED, UNKNOWN, PENDING]
    assert failure.startswith('3 of the requests could not reach completed: ')
    assert 'the request is Denied and cannot become completed' in failure
    assert 'request %s was not found' % UNKNOWN in failure
    assert 'HTTP 500: An error has occurred.' in failure
    assert [call for call in client.calls if call[0] == 'PUT'] == [
        ('PUT', APPROVED, 'Completed'), ('PUT', PENDING, 'Completed'), ('PUT', ALSO_APPROVED, 'Completed')]
    assert result['diff'] == {
        'before': {APPROVED: {'status': 'Approved'}, ALSO_APPROVED: {'status': 'Approved'}},
        'after': {APPROVED: {'status': 'Completed'}, ALSO_APPROVED: {'status': 'Completed'}},
    }


def test_ids_in_check_mode_send_no_put_and_name_each_request_that_would_change():
    client = FakeClient(statuses=MIXED)
    failure, result = cm_request.run(FakeModule(None, 'canceled', check_mode=True, ids=[APPROVED, PENDING, COMPLETED.upper()]), client)
    assert failure is not None and COMPLETED in failure
    assert result['changed_ids'] == [APPROVED, PENDING]
    assert sorted(result['diff']['after']) == sorted([APPROVED, PENDING])
    assert all(call[0] == 'GET' for call in client.calls)


def test_ids_already_in_the_target_change_nothing():
    client = FakeClient(statuses={COMPLETED: 8})
    failure, result = cm_request.run(FakeModule(None, 'completed', ids=[COMPLETED, COMPLETED.upper()]), client)
    assert failure is None
    assert result == {'changed': False, 'requests': [result['requests'][0]], 'changed_ids': []}
    assert client.calls == [('GET', COMPLETED)]


def test_an_empty_list_is_a_no_op():
    client = FakeClient(statuses=MIXED)
    assert cm_request.run(FakeModule(None, 'completed', ids=[]), client) == (None, {'changed': False, 'requests': [], 'changed_ids': []})
    assert client.calls == []


def test_a_malformed_guid_anywhere_in_ids_fails_before_any_call():
    client = FakeClient(statuses=MIXED)
    with pytest.raises(CmInputError) as caught:
        cm_request.run(FakeModule(None, 'completed', ids=[APPROVED, 'nope', COMPLETED, '']), client)
    assert "item 2 'nope'" in caught.value.message and "item 4 ''" in caught.value.message
    assert client.calls == []


def test_a_connection_failure_stops_the_list_and_reports_what_was_done():
    client = FakeClient(statuses=MIXED, unreachable_on_get=COMPLETED)
    with pytest.raises(CmConnectionError) as caught:
        cm_request.run(FakeModule(None, 'completed', ids=[APPROVED, COMPLETED, ALSO_APPROVED]), client)
    assert caught.value.details['changed_ids'] == [APPROVED]
    assert caught.value.details['changed'] is True
    assert ('GET', ALSO_APPROVED) not in client.calls


# --- workers and search-assisted reads give the same answers ---------------------------------------

MANY = dict(('aaaaaaaa-0000-4000-8000-%012d' % number, (3, 8, 4, 16, 18)[number % 5]) for number in range(40))
MANY_IDS = list(MANY) + ['aaaaaaaa-0000-4000-8000-00000000dead']


def same_client(shared, made):
    """A worker's "new" client: the same fake server, so every worker sees the same state; counted in `made`."""
    made.append(shared)
    return shared


def test_workers_and_search_give_the_result_of_one_worker_reading_each_request():
    results = {}
    for workers, read_strategy in ((1, 'get'), (4, 'get'), (1, 'search'), (4, 'search'), (3, 'auto')):
        main_client = FakeClient(statuses=MANY, refuse_puts_for={request_id for request_id, code in MANY.items() if code == 16})
        made = []
        new_client = functools.partial(same_client, main_client, made)
        results[(workers, read_strategy)] = cm_request.run(
            FakeModule(None, 'completed', ids=MANY_IDS, workers=workers, read_strategy=read_strategy), main_client, new_client=new_client)
        assert len(made) <= workers - 1
        puts = [call for call in main_client.calls if call[0] == 'PUT']
        assert sorted(call[1] for call in puts) == sorted(request_id for request_id, code in MANY.items() if code in (3, 18, 16))
    baseline = results[(1, 'get')]
    assert baseline[1]['changed_ids'] and baseline[1]['failures']
    for key, result in results.items():
        assert result == baseline, key


def test_search_reads_replace_the_gets_of_the_requests_they_return():
    client = FakeClient(statuses=MANY)
    cm_request.run(FakeModule(None, 'completed', ids=MANY_IDS, read_strategy='search'), client)
    reads = [call for call in client.calls if call[0] in ('GET', 'SEARCH')]
    assert [call for call in reads if call[0] == 'SEARCH'] == [('SEARCH', 'Approved', None), ('SEARCH', 'Executing', None)]
    # only what no search returned is read one by one: the Completed, Denied and Pending ones, and the unknown one
    assert sorted(call[1] for call in reads if call[0] == 'GET') == sorted(
        [request_id for request_id, code in MANY.items() if code in (8, 4, 16)] + ['aaaaaaaa-0000-4000-8000-00000000dead'])


def test_auto_reads_short_lists_one_by_one():
    client = FakeClient(statuses=MANY)
    cm_request.run(FakeModule(None, 'completed', ids=MANY_IDS[:3], read_strategy='auto'), client)
    assert not any(call[0] == 'SEARCH' for call in client.calls)


def test_workers_below_one_are_refused():
    with pytest.raises(CmInputError):
        cm_request.run(FakeModule(None, 'completed', ids=MANY_IDS, workers=0), FakeClient(statuses=MANY))


@pytest.mark.parametrize('timing, message', [
    (dict(wait_timeout=-1), 'wait_timeout must be 0 or more seconds'),
    (dict(wait_interval=0), 'wait_interval must be more than 0 seconds'),
])
def test_a_wait_that_cannot_work_is_refused_before_any_call(fake_client, fake_module, timing, message):
    client = fake_client()
    module = fake_module(cm_request.argument_spec(), id=REQUEST_ID, status='completed', wait=True, **timing)
    with pytest.raises(CmInputError) as caught:
        cm_request.run(module, client)
    assert message in caught.value.message and client.calls == []


def test_too_many_workers_are_refused_before_any_call_also_when_waiting(fake_client, fake_module):
    client = fake_client()
    module = fake_module(cm_request.argument_spec(), ids=[REQUEST_ID], status='completed', workers=17, wait=True)
    with pytest.raises(CmInputError) as caught:
        cm_request.run(module, client)
    assert 'workers must be between 1 and 16' in caught.value.message and client.calls == []
