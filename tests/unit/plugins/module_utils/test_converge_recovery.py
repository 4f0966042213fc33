# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What converge_request does when a PUT's answer is lost or refused: never a blind second PUT."""

from __future__ import annotations

import pytest

from ansible_collections.mim.cm.plugins.module_utils._converge import converge_request
from ansible_collections.mim.cm.plugins.module_utils._errors import CmApiError, CmRequestStateError
from ansible_collections.mim.cm.tests.unit.conftest import DROPPED, LOST, OK, REFUSED, FakeCmClient

REQUEST_ID = '5eed0003-0000-4000-8000-000000000001'


def ScriptedClient(status, script, retries=2, changed_by_someone_else=None):
    """The shared fake client (tests/unit/conftest.py) with one request whose PUTs follow a script (LOST, DROPPED, REFUSED, OK)."""
    return FakeCmClient([{'Uuid': REQUEST_ID, 'Status': status}], retries=retries, put_script=script,
                        changed_by_someone_else=changed_by_someone_else)


def test_a_lost_answer_to_an_applied_put_is_a_change_without_a_second_put():
    client = ScriptedClient(3, [LOST])
    outcome = converge_request(client, REQUEST_ID, 'completed')
    assert outcome.changed is True and outcome.request['status'] == 'Completed'
    assert client.methods() == ['GET', 'PUT', 'GET']
    assert 'the change was applied' in client.warnings[0]


def test_a_put_that_never_arrived_is_sent_again_after_a_read_and_a_pause():
    client = ScriptedClient(3, [DROPPED, OK])
    outcome = converge_request(client, REQUEST_ID, 'completed')
    assert outcome.changed is True and outcome.request['status'] == 'Completed'
    assert client.methods() == ['GET', 'PUT', 'GET', 'PUT']
    assert client.pauses == [0.5]
    assert 'retry 1 of 2 in 0.5 s' in client.warnings[0]


def test_a_put_that_keeps_failing_stops_after_the_retries_and_says_what_the_request_is():
    client = ScriptedClient(3, [DROPPED, DROPPED, DROPPED])
    with pytest.raises(CmRequestStateError) as caught:
        converge_request(client, REQUEST_ID, 'completed')
    assert client.methods() == ['GET', 'PUT', 'GET', 'PUT', 'GET', 'PUT', 'GET']
    assert client.pauses == [0.5, 1.0]
    assert 'after 3 attempts and the request is now Approved (status 3)' in caught.value.message


def test_no_retries_means_one_put():
    client = ScriptedClient(3, [DROPPED], retries=0)
    with pytest.raises(CmRequestStateError):
        converge_request(client, REQUEST_ID, 'completed')
    assert client.methods().count('PUT') == 1 and client.pauses == []


def test_a_lost_answer_after_which_the_request_is_elsewhere_fails_saying_where():
    client = ScriptedClient(3, [DROPPED], changed_by_someone_else=4)
    with pytest.raises(CmRequestStateError) as caught:
        converge_request(client, REQUEST_ID, 'completed')
    assert 'the request is now Denied (status 4)' in caught.value.message
    assert client.methods().count('PUT') == 1


def test_a_refusal_when_someone_else_got_there_first_is_ok_with_a_warning():
    client = ScriptedClient(3, [REFUSED], changed_by_someone_else=17)
    outcome = converge_request(client, REQUEST_ID, 'canceled')
    assert outcome.changed is False and outcome.request['status'] == 'Canceled'
    assert 'someone else got there first' in client.warnings[0]


def test_a_refusal_is_reported_with_the_request_as_read():
    client = ScriptedClient(16, [REFUSED])
    with pytest.raises(CmApiError) as caught:
        converge_request(client, REQUEST_ID, 'completed')
    assert caught.value.details['request']['status'] == 'Pending'
    assert client.methods() == ['GET', 'PUT', 'GET']


def test_a_lost_answer_then_a_refusal_because_our_first_put_landed_late_is_our_change():
    client = ScriptedClient(3, [DROPPED, REFUSED])
    real_put = client.set_request_status

    def put_landing_late(request_id, put_status):
        if client.methods().count('PUT') == 1:
            client.stored[REQUEST_ID]['Status'] = 8  # the first PUT was applied after the read that followed it
        return real_put(request_id, put_status)

    client.set_request_status = put_landing_late
    outcome = converge_request(client, REQUEST_ID, 'completed')
    assert outcome.changed is True and outcome.request['status'] == 'Completed'
    assert not any('someone else' in warning for warning in client.warnings)


def test_a_list_stopped_by_a_connection_failure_returns_what_was_done_and_the_error():
    from ansible_collections.mim.cm.plugins.module_utils._converge import converge_requests
    from ansible_collections.mim.cm.plugins.module_utils._errors import CmConnectionError
    first, second = '5eed0003-0000-4000-8000-00000000000a', '5eed0003-0000-4000-8000-00000000000b'
    client = FakeCmClient([{'Uuid': first, 'Status': 3}, {'Uuid': second, 'Status': 3}], unreachable_on_get=second)
    batch = converge_requests(client, [first, second], 'completed', workers=1, read_strategy='get')
    assert isinstance(batch.stopped_by, CmConnectionError)
    assert batch.changed_ids == [first] and batch.failures == []
