# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one fake CM client of the unit tests, and a fake module: fixtures `fake_client` and `fake_module`.

FakeCmClient has CmClient's public methods, with the same parameter names (test_fake_client.py checks it),
over requests kept in memory, so a flow under test cannot tell it from the real client. It records every call
as a tuple ('GET', id), ('SEARCH', status, target_user), ('PUT', id, status), ('POST', body), ('TEMPLATES',),
('TEMPLATE', id), ('POLICY', template, type) or ('CLOSE',), and its retries pause without sleeping.

What a test needs the server to do is a constructor argument: a script for the PUTs (lost answers, dropped
calls, refusals), the answer to a PUT (200 or 204), a status the PUT leaves, someone else's change.
"""

from __future__ import annotations

import copy
import itertools

import pytest

from ansible_collections.mim.cm.plugins.module_utils._errors import CmApiError, CmConnectionError, CmTransientError
from ansible_collections.mim.cm.plugins.module_utils._request_model import STATUS_CODES
from ansible_collections.mim.cm.plugins.module_utils._retry import RetryPolicy

BASE_PATH = '/CertificateManagement/api/v1.0'
# The GUID of the account that logs in: the target of a POST without one.
CALLER = '11111111-1111-1111-1111-111111111111'
# The status a PUT asks for -> the status number it leaves (abandoning leaves a request Failed).
PUT_ENDS = {'Completed': 8, 'Canceled': 17, 'Abandoned': 9}

# Steps of a PUT script: what happens to each PUT, in order.
OK = 'ok'            # applied, answered
LOST = 'lost'        # applied, the answer never arrives
DROPPED = 'dropped'  # never reaches the server
REFUSED = 'refused'  # the server answers 500 without applying


class FakeCmClient(object):
    """CmClient's interface over requests in memory (API objects by lower-case GUID)."""

    def __init__(self, requests=(), retries=2, delay=0.5, put_script=None, refuse_puts_for=(), answer_put_with=200,
                 status_after_put=None, changed_by_someone_else=None, templates=(), policies=None, post_script=None,
                 decide_after_searches=None, decision='Approved', unreachable_on_get=None):
        self.base_path = BASE_PATH
        self.stored = dict((item['Uuid'].lower(), item) for item in requests)
        self.put_script = list(put_script) if put_script is not None else None  # None: every PUT is OK
        self.refuse_puts_for = set(refuse_puts_for)
        self.answer_put_with = answer_put_with
        self.status_after_put = status_after_put
        self.changed_by_someone_else = changed_by_someone_else  # a status number someone sets as our PUT arrives
        self.templates = list(templates)
        self.policies = dict(policies or {})  # (template GUID, request type name) -> policy
        self.post_script = list(post_script) if post_script is not None else None  # like put_script, for POSTs
        # A person in the CM portal: after this many Pending searches, every Pending request becomes `decision`.
        self.decide_after_searches = decide_after_searches
        self.decision = decision
        # A GUID whose GET meets a server that cannot be reached: an error every later request would meet too.
        self.unreachable_on_get = unreachable_on_get.lower() if unreachable_on_get else None
        self.numbers = itertools.count(1)
        self.calls = []
        self.warnings = []
        self.pauses = []
        self.timeout = 30
        self.retry = RetryPolicy(retries=retries, delay=delay, warn=self.warn, sleep=self.pauses.append, jitter=lambda: 0)

    def methods(self):
        """The calls' methods in order: ['GET', 'PUT', ...]."""
        return [call[0] for call in self.calls]

    def warn(self, message):
        self.warnings.append(message)

    # --- CmClient's public methods ------------------------------------------------------------

    @classmethod
    def from_params(cls, params, warn=None):
        client = cls()
        if warn is not None:
            client.warn = warn
        return client

    def close(self):
        self.calls.append(('CLOSE',))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def retrying(self, call, attempt, settle=None):
        return self.retry.run(call, attempt, settle)

    def api_path(self, api_path):
        return '%s/%s' % (self.base_path, api_path)

    def get_request(self, request_id):
        self.calls.append(('GET', request_id))
        if request_id.lower() == self.unreachable_on_get:
            raise CmConnectionError('GET %s failed: cannot connect to the server' % self.api_path('requests/%s' % request_id))
        return copy.deepcopy(self.stored.get(request_id.lower()))

    def search_requests(self, status=None, target_user=None):
        self.calls.append(('SEARCH', status, target_user))
        if status == 'Pending' and self.decide_after_searches is not None:
            self.decide_after_searches -= 1
            if self.decide_after_searches < 0:
                for item in self.stored.values():
                    if item['Status'] == STATUS_CODES['Pending']:
                        item['Status'] = STATUS_CODES[self.decision]
        code = STATUS_CODES[status] if status else None
        return [copy.deepcopy(item) for item in self.stored.values() if code is None or item['Status'] == code]

    def set_request_status(self, request_id, put_status):
        self.calls.append(('PUT', request_id, put_status))
        step = self.put_script.pop(0) if self.put_script is not None else OK
        if request_id in self.refuse_puts_for:
            step = REFUSED
        stored = self.stored[request_id.lower()]
        if self.changed_by_someone_else is not None:
            stored['Status'] = self.changed_by_someone_else
        if step in (OK, LOST):
            stored['Status'] = self.status_after_put or PUT_ENDS[put_status]
        if step in (LOST, DROPPED):
            raise CmTransientError('PUT %s failed: the connection failed' % self.api_path('requests/%s' % request_id),
                                   'the connection failed: reset', 'PUT', self.api_path('requests/%s' % request_id))
        if step == REFUSED:
            raise CmApiError('PUT %s failed: HTTP 500: An error has occurred.' % self.api_path('requests/%s' % request_id),
                             'PUT', self.api_path('requests/%s' % request_id), 500, server_message='An error has occurred.')
        return copy.deepcopy(stored) if self.answer_put_with == 200 else None

    def create_request(self, body):
        """A new request, Approved when the template's policy needs no approval, else Pending; the caller's when no target."""
        self.calls.append(('POST', body))
        step = self.post_script.pop(0) if self.post_script else OK
        if step == DROPPED:
            raise CmTransientError('POST %s failed: the connection failed' % self.api_path('requests'),
                                   'the connection failed: reset', 'POST', self.api_path('requests'))
        request_id = '00000000-0000-4000-8000-%012d' % next(self.numbers)
        policy = self.policies.get((str(body.get('profiletemplateuuid')).lower(), body.get('type'))) or {}
        status = 'Approved' if policy.get('ApprovalsNeeded') == 0 else 'Pending'
        self.stored[request_id] = {'Uuid': request_id, 'Status': STATUS_CODES[status], 'RequestType': 1,
                                   'TargetUserUuid': body.get('target', CALLER), 'ProfileTemplateUuid': body.get('profiletemplateuuid'),
                                   'Completed': '0001-01-01T00:00:00', 'Submitted': '2026-12-03T10:00:00Z'}
        if step == LOST:
            raise CmTransientError('POST %s failed: the connection failed' % self.api_path('requests'),
                                   'the connection failed: reset', 'POST', self.api_path('requests'))
        return request_id

    def list_profile_templates(self):
        self.calls.append(('TEMPLATES',))
        return copy.deepcopy(self.templates)

    def get_profile_template(self, template_id):
        self.calls.append(('TEMPLATE', template_id))
        return next((copy.deepcopy(item) for item in self.templates if item['Uuid'].lower() == template_id.lower()), None)

    def get_workflow_policy(self, template_id, request_type):
        self.calls.append(('POLICY', template_id, request_type))
        return copy.deepcopy(self.policies.get((template_id.lower(), request_type)))


class FakeModule(object):
    """What run() uses of an AnsibleModule: params (every option at its argument-spec default unless given), check_mode."""

    def __init__(self, argument_spec, check_mode=False, **params):
        self.params = dict((name, spec.get('default')) for name, spec in argument_spec.items())
        unknown = set(params) - set(self.params)
        assert not unknown, 'not options of the module: %s' % sorted(unknown)
        self.params.update(params)
        self.check_mode = check_mode


@pytest.fixture
def fake_client():
    """Make a FakeCmClient: fake_client(requests, **what the server does)."""
    return FakeCmClient


@pytest.fixture
def fake_module():
    """Make a FakeModule: fake_module(module.argument_spec(), check_mode=False, **params)."""
    return FakeModule
