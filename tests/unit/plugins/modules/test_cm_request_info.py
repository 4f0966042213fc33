# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""cm_request_info's run() against a fake client."""

from __future__ import annotations

import pytest

from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError
from ansible_collections.mim.cm.plugins.modules import cm_request_info

OLD_PENDING = {'Uuid': 'AAAAAAAA-0000-4000-8000-000000000016', 'Status': 16, 'Submitted': '2020-01-01T00:00:00Z'}
NEW_PENDING = {'Uuid': 'aaaaaaaa-0000-4000-8000-000000000116', 'Status': 16, 'Submitted': '2099-01-01T00:00:00Z'}
APPROVED = {'Uuid': 'aaaaaaaa-0000-4000-8000-000000000003', 'Status': 3, 'Submitted': '2020-01-01T00:00:00Z'}


class FakeClient(object):
    def __init__(self, requests):
        self.requests = requests
        self.calls = []

    def get_request(self, request_id):
        self.calls.append(('get', request_id))
        return next((request for request in self.requests if request['Uuid'].lower() == request_id), None)

    def search_requests(self, status=None, target_user=None):
        self.calls.append(('search', status, target_user))
        codes = {'Pending': 16, 'Approved': 3}
        return [request for request in self.requests if status is None or request['Status'] == codes.get(status)]


class FakeModule(object):
    def __init__(self, **params):
        self.params = dict(dict.fromkeys(('id', 'status', 'target_user', 'older_than', 'submitted_before', 'submitted_after')), **params)


def uuids(requests):
    return [request['uuid'] for request in requests]


def test_read_one_by_id_in_any_case():
    client = FakeClient([OLD_PENDING])
    assert uuids(cm_request_info.run(FakeModule(id='{AAAAAAAA-0000-4000-8000-000000000016}'), client)) == ['aaaaaaaa-0000-4000-8000-000000000016']


def test_an_unknown_id_gives_an_empty_list():
    assert cm_request_info.run(FakeModule(id='aaaaaaaa-0000-4000-8000-00000000dead'), FakeClient([])) == []


def test_several_statuses_make_one_search_each_and_keep_each_request_once():
    client = FakeClient([OLD_PENDING, NEW_PENDING, APPROVED])
    found = cm_request_info.run(FakeModule(status=['pending', 'approved', 'pending'], target_user='current'), client)
    assert uuids(found) == ['aaaaaaaa-0000-4000-8000-000000000016', 'aaaaaaaa-0000-4000-8000-000000000116', 'aaaaaaaa-0000-4000-8000-000000000003']
    assert client.calls == [('search', 'Pending', 'current'), ('search', 'Approved', 'current')]


def test_no_status_searches_once_for_everything():
    client = FakeClient([OLD_PENDING, APPROVED])
    assert len(cm_request_info.run(FakeModule(), client)) == 2
    assert client.calls == [('search', None, None)]


def test_the_age_filter_is_applied_to_the_search_results():
    found = cm_request_info.run(FakeModule(status=['pending'], older_than='30d'), FakeClient([OLD_PENDING, NEW_PENDING, APPROVED]))
    assert uuids(found) == ['aaaaaaaa-0000-4000-8000-000000000016']


def test_a_bad_duration_fails_before_any_search():
    client = FakeClient([OLD_PENDING])
    with pytest.raises(CmInputError):
        cm_request_info.run(FakeModule(status=['pending'], older_than='a month'), client)
    assert client.calls == []
