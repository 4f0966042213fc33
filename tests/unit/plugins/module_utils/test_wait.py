# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The wait engine against a fake server and a fake clock: what each round costs, and that the deadline holds."""

from __future__ import annotations

import pytest

from ansible_collections.mim.cm.plugins.module_utils._errors import (
    CmApiError,
    CmInputError,
    CmRequestStateError,
    CmTransientError,
)
from ansible_collections.mim.cm.plugins.module_utils._request_model import STATUS_CODES, request_facts
from ansible_collections.mim.cm.plugins.module_utils._wait import (
    statuses_before,
    statuses_reached,
    wait_until_reached,
    wait_while_in,
)
from ansible_collections.mim.cm.tests.unit.conftest import FakeCmClient

PENDING = frozenset(['Pending'])


def guid(number):
    return 'aaaaaaaa-0000-4000-8000-%012d' % number


class FakeClock(object):
    """Time that moves only when the code sleeps or a call takes time."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class FakeServer(FakeCmClient):
    """The shared fake client (tests/unit/conftest.py) in time: each call takes `call_seconds` of the fake clock, and
    requests change status on a schedule of (seconds after the start, GUID, status name)."""

    def __init__(self, clock, statuses, call_seconds=0.0, schedule=None):
        super().__init__([{'Uuid': request_id.upper(), 'Status': STATUS_CODES[status], 'RequestType': 1,
                           'Submitted': '2026-12-01T08:00:00Z'} for request_id, status in statuses.items()], retries=3)
        self.clock = clock
        self.start = clock.now
        self.call_seconds = call_seconds
        self.schedule = sorted(schedule or [], key=lambda item: item[0])
        self.hidden = set()      # requests the searches never return (another account's view): each costs a GET per round
        self.fail_next = []      # errors raised by the next calls, in order
        self.retries_seen = []   # the client's retries setting at each call

    def facts(self, request_id):
        return request_facts(self.stored[request_id])

    def _takes_time(self):
        self.retries_seen.append(self.retry.retries)
        self.clock.now += self.call_seconds
        while self.schedule and self.schedule[0][0] <= self.clock.now - self.start:
            _offset, request_id, status = self.schedule.pop(0)
            self.stored[request_id]['Status'] = STATUS_CODES[status]

    def _answer(self, answer):
        if self.fail_next:
            raise self.fail_next.pop(0)
        return answer

    def search_requests(self, status=None, target_user=None):
        self._takes_time()
        found = super().search_requests(status, target_user)
        return self._answer([item for item in found if item['Uuid'].lower() not in self.hidden])

    def get_request(self, request_id):
        self._takes_time()
        return self._answer(super().get_request(request_id))


def wait(server, clock, ids, waiting=PENDING, timeout=60, interval=5, known=None):
    return wait_while_in(server, ids, waiting, timeout, interval, known=known, clock=clock, sleep=clock.sleep)


def test_each_round_costs_one_search_per_waiting_status_not_a_get_per_request():
    clock = FakeClock()
    ids = [guid(n) for n in range(50)]
    server = FakeServer(clock, dict((i, 'Pending') for i in ids), schedule=[(12, ids[7], 'Approved')])
    server.stored[guid(99)] = dict(server.stored[ids[0]], Uuid=guid(99))  # someone else's request: no GET for it either
    result = wait(server, clock, ids, waiting=frozenset(['Pending', 'Executing']), timeout=20, interval=5)

    searches = [call for call in server.calls if call[0] == 'SEARCH']
    gets = [call for call in server.calls if call[0] == 'GET']
    assert result.rounds == 5  # at 0, 5, 10, 15, 20 s
    assert len(searches) == 2 * result.rounds
    assert set(call[1] for call in searches) == {'Pending', 'Executing'}
    assert gets == [('GET', ids[7])]  # only the one that left the searches, once
    assert result.settled[ids[7]]['status'] == 'Approved'
    assert sorted(result.still_waiting) == sorted(i for i in ids if i != ids[7])


def test_settled_requests_return_their_new_facts_and_the_wait_ends_as_soon_as_all_left():
    clock = FakeClock()
    ids = [guid(1), guid(2)]
    server = FakeServer(clock, {guid(1): 'Pending', guid(2): 'Pending'},
                        schedule=[(4, guid(1), 'Approved'), (9, guid(2), 'Denied')])
    result = wait(server, clock, ids, timeout=600, interval=5)
    assert result.still_waiting == {}
    assert [result.settled[i]['status'] for i in ids] == ['Approved', 'Denied']
    assert result.settled[guid(1)]['uuid'] == guid(1)
    assert result.rounds == 3 and result.waited_seconds == 10
    assert clock.sleeps == [5, 5]


@pytest.mark.parametrize('timeout, interval, call_seconds', [
    (60, 7, 0.5),
    (60, 7, 6.0),     # calls slower than the interval
    (10, 30, 2.0),    # interval longer than the whole timeout
    (0, 5, 1.0),
    (100, 1, 29.0),   # every call lasts almost the client's timeout
])
def test_the_wait_never_exceeds_its_deadline_by_more_than_one_interval_and_one_call(timeout, interval, call_seconds):
    clock = FakeClock()
    ids = [guid(n) for n in range(5)]
    # Nobody ever approves, and the searches never return three of them: every round pays 2 searches and 3 GETs,
    # so a round is longer than the slack the deadline allows whenever a call is slow.
    server = FakeServer(clock, dict((i, 'Pending') for i in ids), call_seconds=call_seconds,
                        schedule=[(1 + n, guid(n), 'Executing') for n in range(5)])
    server.hidden = set(ids[:3])
    start = clock.now
    result = wait(server, clock, ids, waiting=frozenset(['Pending', 'Executing']), timeout=timeout, interval=interval)
    assert result.still_waiting  # it did time out
    assert clock.now - start <= timeout + interval + call_seconds
    assert result.waited_seconds == clock.now - start
    assert all(seconds <= interval for seconds in clock.sleeps)


def test_transient_failures_are_retried_by_the_next_round_not_by_the_client():
    clock = FakeClock()
    server = FakeServer(clock, {guid(1): 'Pending'}, schedule=[(11, guid(1), 'Approved')])
    server.fail_next = [CmTransientError('GET /requests failed: HTTP 503', 'HTTP 503', 'GET', '/requests', 503)] * 2
    result = wait(server, clock, [guid(1)], timeout=60, interval=5)
    assert result.settled[guid(1)]['status'] == 'Approved'
    assert set(server.retries_seen) == {0}  # the client's own retries were off while polling...
    assert server.retry.retries == 3        # ...and are back afterwards


def test_a_transient_failure_in_the_last_round_is_raised_with_how_long_it_waited():
    clock = FakeClock()
    server = FakeServer(clock, {guid(1): 'Pending'})
    server.fail_next = [CmTransientError('GET /requests failed: HTTP 503', 'HTTP 503', 'GET', '/requests', 503)] * 100
    with pytest.raises(CmTransientError) as caught:
        wait(server, clock, [guid(1)], timeout=10, interval=5)
    assert 'HTTP 503' in caught.value.message and 'after 10.0 s and 3 round(s)' in caught.value.message
    assert server.retry.retries == 3


def test_an_api_error_stops_the_wait_at_once():
    clock = FakeClock()
    server = FakeServer(clock, {guid(1): 'Pending'})
    server.fail_next = [CmApiError('GET /requests failed: HTTP 403', 'GET', '/requests', 403)]
    with pytest.raises(CmApiError):
        wait(server, clock, [guid(1)])
    assert len(server.calls) == 1


def test_known_facts_save_the_first_calls():
    clock = FakeClock()
    server = FakeServer(clock, {guid(1): 'Pending', guid(2): 'Approved'}, schedule=[(3, guid(1), 'Approved')])
    known = dict((i, server.facts(i)) for i in (guid(1), guid(2)))
    result = wait(server, clock, [guid(1), guid(2)], timeout=60, interval=5, known=known)
    assert server.calls == [('SEARCH', 'Pending', None), ('GET', guid(1))]  # nothing for guid(2), and a pause first
    assert clock.sleeps == [5]
    assert sorted(result.settled) == [guid(1), guid(2)] and result.rounds == 1


def test_nothing_to_wait_for_costs_nothing():
    clock = FakeClock()
    server = FakeServer(clock, {guid(1): 'Completed'})
    known = {guid(1): server.facts(guid(1))}
    result = wait(server, clock, [guid(1)], known=known)
    assert server.calls == [] and result.rounds == 0 and result.settled == known


def test_an_unknown_request_in_the_first_round_is_read_once():
    clock = FakeClock()
    server = FakeServer(clock, {guid(1): 'Completed'})
    result = wait(server, clock, [guid(1)])
    assert server.calls == [('SEARCH', 'Pending', None), ('GET', guid(1))]
    assert result.settled[guid(1)]['status'] == 'Completed' and clock.sleeps == []


def test_a_request_that_disappears_is_a_clear_failure():
    clock = FakeClock()
    server = FakeServer(clock, {guid(2): 'Pending'})
    with pytest.raises(CmRequestStateError) as caught:
        wait(server, clock, [guid(1)])
    assert guid(1) in caught.value.message and 'was not found' in caught.value.message


@pytest.mark.parametrize('waiting, timeout, interval', [
    (frozenset(), 10, 1), (frozenset(['Waiting']), 10, 1), (PENDING, -1, 1), (PENDING, 10, 0), (PENDING, 10, None),
])
def test_bad_arguments_fail_before_any_call(waiting, timeout, interval):
    clock = FakeClock()
    server = FakeServer(clock, {guid(1): 'Pending'})
    with pytest.raises(CmInputError):
        wait(server, clock, [guid(1)], waiting=waiting, timeout=timeout, interval=interval)
    assert server.calls == []


# --- waiting until requests reach a status, without changing them (cm_request_info's wait_for) ---------------------

def test_waiting_for_a_status_counts_the_statuses_further_along_the_way():
    clock = FakeClock()
    ids = [guid(1), guid(2), guid(3)]
    server = FakeServer(clock, {guid(1): 'Pending', guid(2): 'Pending', guid(3): 'Completed'},
                        schedule=[(3, guid(1), 'Approved'), (8, guid(2), 'Executing')])
    requests = [server.facts(i) for i in ids]
    now, result = wait_until_reached(server, requests, 'approved', 60, 5, clock=clock, sleep=clock.sleep)
    assert [facts['status'] for facts in now] == ['Approved', 'Executing', 'Completed']
    assert result.rounds == 2 and set(call[1] for call in server.calls if call[0] == 'SEARCH') == {'Pending'}


def test_a_request_that_ends_elsewhere_fails_saying_what_it_became():
    clock = FakeClock()
    server = FakeServer(clock, {guid(1): 'Approved'}, schedule=[(3, guid(1), 'Canceled')])
    with pytest.raises(CmRequestStateError) as caught:
        wait_until_reached(server, [server.facts(guid(1))], 'completed', 60, 5, clock=clock, sleep=clock.sleep)
    assert caught.value.message.startswith('1 request never will be Completed: request %s is Canceled' % guid(1))
    assert caught.value.details['requests'][0]['status'] == 'Canceled'


def test_a_timeout_fails_saying_how_long_it_waited_and_where_each_request_stands():
    clock = FakeClock()
    server = FakeServer(clock, {guid(1): 'Pending', guid(2): 'Approved'})
    requests = [server.facts(i) for i in (guid(1), guid(2))]
    with pytest.raises(CmRequestStateError) as caught:
        wait_until_reached(server, requests, 'completed', 20, 5, clock=clock, sleep=clock.sleep)
    message = caught.value.message
    assert message.startswith('gave up waiting for 2 requests to be Completed after 20.0 s (wait_timeout 20, 4 round(s))')
    assert 'request %s is still Pending (submitted 2026-12-01T08:00:00Z)' % guid(1) in message
    assert 'request %s is still Approved' % guid(2) in message
    assert caught.value.details['waited_seconds'] == 20


def test_check_mode_does_not_wait_but_still_fails_for_a_request_that_never_will_get_there():
    clock = FakeClock()
    server = FakeServer(clock, {guid(1): 'Pending', guid(2): 'Denied'})
    pending = server.facts(guid(1))
    now, result = wait_until_reached(server, [pending], 'completed', 60, 5, check_mode=True, clock=clock, sleep=clock.sleep)
    assert now == [pending] and result.rounds == 0 and server.calls == [] and clock.sleeps == []
    with pytest.raises(CmRequestStateError):
        wait_until_reached(server, [server.facts(guid(2))], 'approved', 60, 5, check_mode=True)


def test_nothing_found_returns_at_once():
    clock = FakeClock()
    server = FakeServer(clock, {})
    assert wait_until_reached(server, [], 'completed', 60, 5, clock=clock, sleep=clock.sleep)[0] == []
    assert server.calls == []


@pytest.mark.parametrize('milestone, before, reached', [
    ('approved', {'Pending'}, {'Approved', 'Executing', 'Completed'}),
    ('Executing', {'Pending', 'Approved'}, {'Executing', 'Completed'}),
    ('completed', {'Pending', 'Approved', 'Executing'}, {'Completed'}),
])
def test_the_statuses_before_and_after_a_milestone(milestone, before, reached):
    assert statuses_before(milestone) == before and statuses_reached(milestone) == reached
