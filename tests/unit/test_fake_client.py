# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The unit tests' fake client (conftest.py) must keep CmClient's interface, or the flows are tested against a fiction."""

from __future__ import annotations

import inspect

from ansible_collections.mim.cm.plugins.module_utils._client import CmClient


def public_methods(cls):
    """{name: parameter names} of the public methods of a class (context manager methods included)."""
    methods = {}
    for name, member in inspect.getmembers(cls, callable):
        if name.startswith('_') and name not in ('__enter__', '__exit__'):
            continue
        if inspect.isclass(member):
            continue
        methods[name] = list(inspect.signature(member).parameters)
    return methods


def test_the_fake_client_has_every_public_method_of_cmclient_with_the_same_parameters(fake_client):
    real = public_methods(CmClient)
    fake = public_methods(fake_client)
    assert real, 'CmClient has no public methods?'
    missing = sorted(set(real) - set(fake))
    assert not missing, 'FakeCmClient (tests/unit/conftest.py) lacks CmClient methods: %s' % missing
    differ = dict((name, (real[name], fake[name])) for name in real if real[name] != fake[name])
    assert not differ, 'parameters differ (CmClient, FakeCmClient): %s' % differ


def test_the_fake_client_adds_no_api_call_cmclient_does_not_have(fake_client):
    helpers = {'methods', 'warn'}  # the fake's own: what the tests read, and the warn CmClient holds as an attribute
    extra = sorted(set(public_methods(fake_client)) - set(public_methods(CmClient)) - helpers)
    assert not extra, 'FakeCmClient has methods CmClient does not: %s' % extra


def test_the_fake_client_applies_a_put_and_records_the_calls(fake_client):
    client = fake_client([{'Uuid': 'A9B4B42C-CC50-4C9B-89D1-BBC0BCD5A099', 'Status': 3}])
    assert client.set_request_status('a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099', 'Completed')['Status'] == 8
    assert client.search_requests('Completed')[0]['Status'] == 8
    assert client.search_requests('Approved') == []
    assert client.calls == [('PUT', 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099', 'Completed'), ('SEARCH', 'Completed', None),
                            ('SEARCH', 'Approved', None)]
