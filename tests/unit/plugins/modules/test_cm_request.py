# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""cm_request's run() against a fake client: the decisions and the calls they lead to."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError, CmRequestStateError
from ansible_collections.mim.cm.plugins.modules import cm_request

REQUEST_ID = 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099'
STATUS_AFTER_PUT = {'Completed': 8, 'Canceled': 17, 'Abandoned': 9}


class FakeClient(object):
    """Holds requests by GUID, applies PUTs like a cooperative server, and records every call."""

    base_path = '/CertificateManagement/api/v1.0'

    def __init__(self, status, answer_put_with=200, status_after_put=None):
        self.stored = {REQUEST_ID: {'Uuid': REQUEST_ID.upper(), 'Status': status, 'RequestType': 1, 'Completed': '0001-01-01T00:00:00'}}
        self.answer_put_with = answer_put_with
        self.status_after_put = status_after_put
        self.calls = []

    def get_request(self, request_id):
        self.calls.append(('GET', request_id))
        return copy.deepcopy(self.stored.get(request_id))

    def set_request_status(self, request_id, put_status):
        self.calls.append(('PUT', request_id, put_status))
        stored = self.stored[request_id]
        stored['Status'] = self.status_after_put or STATUS_AFTER_PUT[put_status]
        return copy.deepcopy(stored) if self.answer_put_with == 200 else None


class FakeModule(object):
    def __init__(self, request_id, status, check_mode=False):
        self.params = {'id': request_id, 'status': status}
        self.check_mode = check_mode


def test_a_request_already_in_the_target_is_left_alone():
    client = FakeClient(status=8)
    changed, request, diff = cm_request.run(FakeModule(REQUEST_ID, 'completed'), client)
    assert changed is False
    assert request['status'] == 'Completed'
    assert diff is None
    assert client.calls == [('GET', REQUEST_ID)]


def test_an_approved_request_is_completed_with_one_put():
    client = FakeClient(status=3)
    changed, request, diff = cm_request.run(FakeModule(REQUEST_ID.upper(), 'completed'), client)
    assert changed is True
    assert (request['status'], request['status_code']) == ('Completed', 8)
    assert diff == {'before': {'status': 'Approved'}, 'after': {'status': 'Completed'}}
    assert client.calls == [('GET', REQUEST_ID), ('PUT', REQUEST_ID, 'Completed')]


def test_abandoned_sends_abandoned_and_is_reached_as_failed():
    client = FakeClient(status=18)
    changed, request, diff = cm_request.run(FakeModule(REQUEST_ID, 'abandoned'), client)
    assert changed is True
    assert request['status'] == 'Failed'
    assert client.calls[-1] == ('PUT', REQUEST_ID, 'Abandoned')
    assert cm_request.run(FakeModule(REQUEST_ID, 'abandoned'), client)[0] is False


def test_a_put_answered_with_204_is_followed_by_a_get():
    client = FakeClient(status=16, answer_put_with=204)
    changed, request, dummy = cm_request.run(FakeModule(REQUEST_ID, 'canceled'), client)
    assert changed is True
    assert request['status'] == 'Canceled'
    assert client.calls == [('GET', REQUEST_ID), ('PUT', REQUEST_ID, 'Canceled'), ('GET', REQUEST_ID)]


def test_a_put_that_leaves_another_status_fails_saying_what_it_is_now():
    client = FakeClient(status=3, status_after_put=18)
    with pytest.raises(CmRequestStateError) as caught:
        cm_request.run(FakeModule(REQUEST_ID, 'completed'), client)
    assert 'is now Executing (status 18), not Completed' in caught.value.message


@pytest.mark.parametrize('status, target, name', [
    (8, 'canceled', 'Completed'), (4, 'completed', 'Denied'), (17, 'abandoned', 'Canceled'), (9, 'completed', 'Failed'),
])
def test_a_terminal_request_fails_without_a_put(status, target, name):
    client = FakeClient(status=status)
    with pytest.raises(CmRequestStateError) as caught:
        cm_request.run(FakeModule(REQUEST_ID, target), client)
    assert 'the request is %s and cannot become %s' % (name, target) in caught.value.message
    assert client.calls == [('GET', REQUEST_ID)]


def test_an_unknown_request_fails_naming_the_guid():
    client = FakeClient(status=3)
    other = 'dddddddd-0000-4000-8000-000000000001'
    with pytest.raises(CmRequestStateError) as caught:
        cm_request.run(FakeModule(other, 'completed'), client)
    assert 'request %s was not found' % other in caught.value.message


def test_check_mode_predicts_without_a_put():
    client = FakeClient(status=3)
    changed, request, diff = cm_request.run(FakeModule(REQUEST_ID, 'abandoned', check_mode=True), client)
    assert changed is True
    assert (request['status'], request['status_code']) == ('Failed', 9)
    assert diff == {'before': {'status': 'Approved'}, 'after': {'status': 'Failed'}}
    assert client.calls == [('GET', REQUEST_ID)]
    assert client.stored[REQUEST_ID]['Status'] == 3


def test_a_malformed_guid_fails_before_any_call():
    client = FakeClient(status=3)
    with pytest.raises(CmInputError):
        cm_request.run(FakeModule('a9b4b42c-cc50', 'completed'), client)
    assert client.calls == []
