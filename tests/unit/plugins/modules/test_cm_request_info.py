# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""cm_request_info's run() against a fake client."""

from __future__ import annotations

import pytest

from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError, CmRequestStateError
from ansible_collections.mim.cm.plugins.modules import cm_request_info
from ansible_collections.mim.cm.tests.unit.conftest import FakeCmClient, FakeModule as SharedFakeModule

OLD_PENDING = {'Uuid': 'AAAAAAAA-0000-4000-8000-000000000016', 'Status': 16, 'Submitted': '2020-01-01T00:00:00Z'}
NEW_PENDING = {'Uuid': 'aaaaaaaa-0000-4000-8000-000000000116', 'Status': 16, 'Submitted': '2099-01-01T00:00:00Z'}
APPROVED = {'Uuid': 'aaaaaaaa-0000-4000-8000-000000000003', 'Status': 3, 'Submitted': '2020-01-01T00:00:00Z'}


def client_with(requests, templates=()):
    """The shared fake client (tests/unit/conftest.py), holding copies of these API objects."""
    return FakeCmClient([dict(request) for request in requests], templates=templates)


def module_with(check_mode=False, **params):
    return SharedFakeModule(cm_request_info.argument_spec(), check_mode=check_mode, **params)


def search_for(module, client):
    requests, extra = cm_request_info.run(module, client)
    assert extra == {}
    return requests


def uuids(requests):
    return [request['uuid'] for request in requests]


def test_read_one_by_id_in_any_case():
    client = client_with([OLD_PENDING])
    assert uuids(search_for(module_with(id='{AAAAAAAA-0000-4000-8000-000000000016}'), client)) == ['aaaaaaaa-0000-4000-8000-000000000016']


def test_an_unknown_id_gives_an_empty_list():
    assert search_for(module_with(id='aaaaaaaa-0000-4000-8000-00000000dead'), client_with([])) == []


def test_several_statuses_make_one_search_each_and_keep_each_request_once():
    client = client_with([OLD_PENDING, NEW_PENDING, APPROVED])
    found = search_for(module_with(status=['pending', 'approved', 'pending'], target_user='current'), client)
    assert uuids(found) == ['aaaaaaaa-0000-4000-8000-000000000016', 'aaaaaaaa-0000-4000-8000-000000000116', 'aaaaaaaa-0000-4000-8000-000000000003']
    assert client.calls == [('SEARCH', 'Pending', 'current'), ('SEARCH', 'Approved', 'current')]


def test_no_status_searches_once_for_everything():
    client = client_with([OLD_PENDING, APPROVED])
    assert len(search_for(module_with(), client)) == 2
    assert client.calls == [('SEARCH', None, None)]


def test_the_age_filter_is_applied_to_the_search_results():
    found = search_for(module_with(status=['pending'], older_than='30d'), client_with([OLD_PENDING, NEW_PENDING, APPROVED]))
    assert uuids(found) == ['aaaaaaaa-0000-4000-8000-000000000016']


def test_a_bad_duration_fails_before_any_search():
    client = client_with([OLD_PENDING])
    with pytest.raises(CmInputError):
        search_for(module_with(status=['pending'], older_than='a month'), client)
    assert client.calls == []


USER = 'a0000000-0000-4000-8000-000000000002'
ME = 'a0000000-0000-4000-8000-000000000001'
VPN = '0f1e2d3c-4b5a-4697-8877-665544332211'
ENROLL_FOR_USER = {'Uuid': 'bbbbbbbb-0000-4000-8000-000000000001', 'Status': 16, 'RequestType': 1, 'TargetUserUuid': USER.upper(),
                   'OriginatorUserUuid': ME, 'ProfileTemplateUuid': VPN.upper(), 'Submitted': '2026-01-01T00:00:00Z'}
UNBLOCK_FOR_USER = dict(ENROLL_FOR_USER, Uuid='bbbbbbbb-0000-4000-8000-000000000002', RequestType=5)
ENROLL_FOR_ME = dict(ENROLL_FOR_USER, Uuid='bbbbbbbb-0000-4000-8000-000000000003', TargetUserUuid=ME, OriginatorUserUuid=USER)
RENEW_OTHER_TEMPLATE = dict(ENROLL_FOR_USER, Uuid='bbbbbbbb-0000-4000-8000-000000000004', RequestType=42,
                            ProfileTemplateUuid='11111111-4b5a-4697-8877-665544332211')
PURPOSES = [ENROLL_FOR_USER, UNBLOCK_FOR_USER, ENROLL_FOR_ME, RENEW_OTHER_TEMPLATE]
TEMPLATES = [{'Uuid': VPN.upper(), 'Name': 'VPN User'}, {'Uuid': '11111111-4b5a-4697-8877-665544332211', 'Name': 'Wifi'}]


@pytest.mark.parametrize('options, expected', [
    (dict(request_type=['enroll']), [1, 3]),
    (dict(request_type=['unblock'], request_type_code=[42]), [2, 4]),
    (dict(target_user=USER.upper()), [1, 2, 4]),
    (dict(originator=USER), [3]),
    (dict(profile_template=['Wifi']), [4]),
    (dict(profile_template=[VPN], request_type=['enroll'], target_user=USER), [1]),
])
def test_requests_are_found_by_what_they_are_for(options, expected):
    client = client_with(PURPOSES, TEMPLATES)
    assert uuids(search_for(module_with(status=['pending'], **options), client)) == ['bbbbbbbb-0000-4000-8000-%012d' % n for n in expected]


def test_a_users_guid_is_filtered_by_the_module_and_current_by_the_api():
    client = client_with(PURPOSES)
    search_for(module_with(status=['pending'], target_user=USER), client)
    search_for(module_with(status=['pending'], target_user='current'), client)
    assert client.calls == [('SEARCH', 'Pending', None), ('SEARCH', 'Pending', 'current')]


def test_template_names_are_resolved_before_the_search_and_guids_cost_nothing():
    client = client_with(PURPOSES, TEMPLATES)
    search_for(module_with(status=['pending', 'approved'], profile_template=['VPN User', 'Wifi']), client)
    assert client.calls == [('TEMPLATES',), ('TEMPLATES',), ('SEARCH', 'Pending', None), ('SEARCH', 'Approved', None)]
    client = client_with(PURPOSES, TEMPLATES)
    search_for(module_with(profile_template=[VPN]), client)
    assert client.calls == [('SEARCH', None, None)]


def test_an_unknown_template_name_fails_before_any_search():
    client = client_with(PURPOSES, TEMPLATES)
    with pytest.raises(CmInputError) as caught:
        search_for(module_with(status=['pending'], profile_template=['Laptop']), client)
    assert 'VPN User, Wifi' in caught.value.message
    assert client.calls == [('TEMPLATES',)]


@pytest.mark.parametrize('options', [
    dict(request_type=['renew']),
    dict(target_user='jdoe'),
    dict(originator='current'),
    dict(request_type_code=[-3]),
    dict(profile_template=['']),
    dict(wait_for='completed', wait_interval=0),
    dict(wait_for='approved', wait_timeout=-1),
])
def test_bad_input_fails_before_any_traffic(options):
    client = client_with(PURPOSES, TEMPLATES)
    with pytest.raises(CmInputError):
        cm_request_info.run(module_with(status=['pending'], **options), client)
    assert client.calls == []


def test_an_undocumented_type_name_points_to_request_type_code():
    with pytest.raises(CmInputError) as caught:
        cm_request_info.run(module_with(request_type=['renew']), client_with(PURPOSES))
    assert 'request_type_code' in caught.value.message


def test_every_type_name_the_module_accepts_is_a_submission_type_of_cm_request():
    from ansible_collections.mim.cm.plugins.module_utils._purpose import REQUEST_TYPES  # pylint: disable=import-outside-toplevel
    assert cm_request_info.argument_spec()['request_type']['choices'] == list(REQUEST_TYPES)


class Clock(object):
    def __init__(self, client, approve_after):
        self.now = 0.0
        self.client = client
        self.approve_after = approve_after

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        if self.now >= self.approve_after:
            for request in self.client.stored.values():
                request['Status'] = 3


def with_clock(monkeypatch, clock):
    real = cm_request_info.wait_until_reached

    def wait_until_reached(*args, **kwargs):
        return real(*args, clock=clock, sleep=clock.sleep, **kwargs)
    monkeypatch.setattr(cm_request_info, 'wait_until_reached', wait_until_reached)


def test_wait_for_waits_until_the_request_is_approved_and_changes_nothing(monkeypatch):
    client = client_with([dict(ENROLL_FOR_USER)])
    with_clock(monkeypatch, Clock(client, approve_after=25))
    requests, extra = cm_request_info.run(module_with(id=ENROLL_FOR_USER['Uuid'], wait_for='approved', wait_timeout=60, wait_interval=10), client)
    assert requests[0]['status'] == 'Approved' and extra == {'waited_seconds': 30.0}
    assert client.methods() == ['GET', 'SEARCH', 'SEARCH', 'SEARCH', 'GET']


def test_wait_for_a_search_waits_for_every_request_found(monkeypatch):
    client = client_with([dict(ENROLL_FOR_USER), dict(UNBLOCK_FOR_USER), dict(OLD_PENDING)])
    with_clock(monkeypatch, Clock(client, approve_after=5))
    requests, _extra = cm_request_info.run(module_with(status=['pending'], target_user=USER, wait_for='approved', wait_interval=5), client)
    assert [request['status'] for request in requests] == ['Approved', 'Approved']
    assert client.calls[0] == ('SEARCH', 'Pending', None)


def test_wait_for_an_unknown_id_fails():
    client = client_with([])
    with pytest.raises(CmRequestStateError) as caught:
        cm_request_info.run(module_with(id='aaaaaaaa-0000-4000-8000-00000000dead', wait_for='completed'), client)
    assert 'aaaaaaaa-0000-4000-8000-00000000dead was not found, so it cannot become completed' in caught.value.message


def test_wait_for_in_check_mode_returns_the_requests_as_they_are(monkeypatch):
    client = client_with([dict(ENROLL_FOR_USER)])
    with_clock(monkeypatch, Clock(client, approve_after=5))
    requests, extra = cm_request_info.run(module_with(check_mode=True, id=ENROLL_FOR_USER['Uuid'], wait_for='completed'), client)
    assert requests[0]['status'] == 'Pending' and extra == {'waited_seconds': 0.0}
    assert client.calls == [('GET', ENROLL_FOR_USER['Uuid'].lower())]
