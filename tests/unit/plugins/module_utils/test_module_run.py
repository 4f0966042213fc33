# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import threading

import pytest

from ansible_collections.mim.cm.plugins.module_utils import _client
from ansible_collections.mim.cm.plugins.module_utils._errors import CmApiError
from ansible_collections.mim.cm.plugins.module_utils._module_run import run_with_client, warn_once

SECRET = 'S3cret-pass'


class Failed(Exception):
    pass


class FakeModule(object):
    """The parts of AnsibleModule that run_with_client uses; fail_json raises instead of exiting."""

    def __init__(self, url='http://127.0.0.1:9/'):
        self.params = {'url': url, 'username': 'EXAMPLE\\svc', 'password': SECRET, 'auth': 'ntlm', 'validate_certs': True,
                       'ca_path': None, 'timeout': 5, 'retries': 0, 'retry_delay': 1}
        self.no_log_values = set()
        self.warnings = []
        self.failed_with = None

    def warn(self, message):
        self.warnings.append(message)

    def fail_json(self, **result):
        self.failed_with = result
        raise Failed()


def test_the_work_gets_a_client_and_its_answer_is_returned():
    module = FakeModule()
    seen = {}

    def work(client, new_client):
        seen['client'] = client
        return 'answer'

    assert run_with_client(module, work) == 'answer'
    assert isinstance(seen['client'], _client.CmClient)
    assert SECRET in module.no_log_values  # masked before the work began


def test_a_cm_error_fails_the_module_with_its_details():
    module = FakeModule()

    def work(client, new_client):
        raise CmApiError('PUT /requests/x: 403 Forbidden', 'PUT', '/requests/x', 403, 'Access is denied.', 'abc-123')

    with pytest.raises(Failed):
        run_with_client(module, work)
    assert module.failed_with['msg'] == 'PUT /requests/x: 403 Forbidden'
    assert module.failed_with['status_code'] == 403 and module.failed_with['correlation_id'] == 'abc-123'


def test_a_missing_library_fails_before_any_client_is_made(monkeypatch):
    monkeypatch.setattr(_client, 'HAS_REQUESTS_NTLM', False)
    monkeypatch.setattr(_client, 'REQUESTS_NTLM_IMPORT_ERROR', 'Traceback ...')
    module = FakeModule()
    called = []
    with pytest.raises(Failed):
        run_with_client(module, lambda client, new_client: called.append(client))
    assert 'requests-ntlm' in module.failed_with['msg'] and module.failed_with['exception'] == 'Traceback ...'
    assert called == []


def test_every_workers_client_warns_what_the_first_did_only_once():
    module = FakeModule()  # plain http: each client made warns about it

    def work(client, new_client):
        with new_client(), new_client():
            return None

    run_with_client(module, work)
    assert len(module.warnings) == 1 and 'http' in module.warnings[0]


def test_warn_once_from_many_threads():
    warned = []
    warn = warn_once(warned.append)
    threads = [threading.Thread(target=warn, args=('same',)) for dummy in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    warn('other')
    assert warned == ['same', 'other']
