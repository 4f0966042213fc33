# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Faults injected into the emulator, and what cm_request does about them: never a change applied twice,
never a change reported that did not happen, never one missed. docs/docsite/rst/reliability.rst tabulates these cases."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from requests_ntlm import HttpNtlmAuth

from helpers import ADMIN_LOGIN, ADMIN_PASSWORD, RELIABILITY_COUNTS, TESTS_DIR, connection

APPROVED = 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099'
RELIABILITY_DOC = TESTS_DIR.parent / 'docs' / 'docsite' / 'rst' / 'reliability.rst'
# Quick retries, and a timeout short enough for a stall to outlast it.
FAST = {'retries': 3, 'retry_delay': 0.05, 'timeout': 2}


class Case(object):
    """One injected fault: the rules, what the task must report, and how many PUTs the server must have applied."""

    def __init__(self, name, rules, outcome, applied, warning=None, message=None):
        self.name = name
        self.rules = rules
        self.outcome = outcome  # 'changed' or 'failed'
        self.applied = applied
        self.warning = warning
        self.message = message


CASES = [
    Case('latency', [{'kind': 'latency', 'seconds': 0.5, 'method': 'GET'}], 'changed', 1),
    Case('reset before the PUT is processed', [{'kind': 'reset_before', 'method': 'PUT'}], 'changed', 1, warning='retry 1 of 3'),
    Case('reset after the PUT is applied (lost answer)', [{'kind': 'reset_after', 'method': 'PUT'}], 'changed', 1,
         warning='the change was applied'),
    Case('reset before a GET is processed', [{'kind': 'reset_before', 'method': 'GET'}], 'changed', 1, warning='retry 1 of 3'),
    Case('503 with Retry-After on the PUT', [{'kind': 'status', 'code': 503, 'retry_after': 1, 'method': 'PUT'}], 'changed', 1,
         warning='Retry-After: 1 s'),
    Case('502 from a gateway, twice, on the GET', [{'kind': 'status', 'code': 502, 'method': 'GET', 'times': 2}], 'changed', 1,
         warning='HTTP 502'),
    Case('504 on the PUT', [{'kind': 'status', 'code': 504, 'method': 'PUT'}], 'changed', 1, warning='HTTP 504'),
    Case('429 with Retry-After on the GET', [{'kind': 'status', 'code': 429, 'retry_after': 1, 'method': 'GET'}], 'changed', 1,
         warning='HTTP 429'),
    Case('503 on half the calls (seeded rate)', [{'kind': 'status', 'code': 503, 'rate': 0.5, 'seed': 3}], 'changed', 1),
    Case('500 refusal on the PUT', [{'kind': 'status', 'code': 500, 'method': 'PUT'}], 'failed', 0,
         message='HTTP 500 Internal Server Error: An error has occurred.'),
    Case('stall longer than the timeout on the PUT', [{'kind': 'stall', 'seconds': 4, 'method': 'PUT'}], 'changed', 1,
         warning='no answer within 2 seconds'),
    Case('stall longer than the timeout on the GET', [{'kind': 'stall', 'seconds': 3, 'method': 'GET'}], 'changed', 1,
         warning='no answer within 2 seconds'),
    Case('malformed JSON answering the PUT', [{'kind': 'malformed_json', 'method': 'PUT'}], 'changed', 1, warning='not JSON'),
    Case('malformed JSON answering the GET', [{'kind': 'malformed_json', 'method': 'GET'}], 'changed', 1, warning='not JSON'),
    Case('HTML page with 200 answering the GET', [{'kind': 'html', 'code': 200, 'method': 'GET'}], 'changed', 1, warning='text/html'),
    Case('HTML page with 500 answering the PUT', [{'kind': 'html', 'code': 500, 'method': 'PUT'}], 'failed', 0,
         message='HTTP 500'),
    Case('truncated body answering the PUT', [{'kind': 'truncated', 'method': 'PUT'}], 'changed', 1, warning='the change was applied'),
    Case('truncated body answering the GET', [{'kind': 'truncated', 'method': 'GET'}], 'changed', 1, warning='the connection failed'),
    Case('503 on every call, retries exhausted', [{'kind': 'status', 'code': 503, 'times': 0}], 'failed', 0,
         message='(after 4 attempts)'),
]
SUMMARY = RELIABILITY_COUNTS


def complete(**options):
    return {'mim.cm.cm_request': dict(FAST, id=APPROVED, status='completed', **options)}


@pytest.mark.parametrize('case', CASES, ids=[case.name for case in CASES])
def test_fault(case, emulator, run_playbook):
    emulator.inject(case.rules)
    result = run_playbook([complete()], module_defaults=connection(emulator))[0]
    emulator.wait_idle()
    hits = sum(rule['hits'] for rule in emulator.faults())
    applied = emulator.applied_puts(APPROVED)
    SUMMARY['faults injected'] += hits
    SUMMARY['changes lost'] += max(0, 1 - applied) if case.outcome == 'changed' else 0
    SUMMARY['changes doubled'] += max(0, applied - 1)

    assert hits >= 1, 'the fault was injected'
    assert applied == case.applied, 'PUTs the server applied'
    status = emulator.stored_request(APPROVED)['Status']
    if case.outcome == 'changed':
        assert result['changed'] is True and not result.get('failed'), result.get('msg')
        assert result['request']['status'] == 'Completed' and status == 8
    else:
        assert result['failed'] is True and case.message in result['msg']
        assert status == 3
    if case.warning:
        assert any(case.warning in warning for warning in result.get('warnings', [])), result.get('warnings')
    SUMMARY['survived'] += 1


def test_someone_else_completing_first_is_ok_with_a_warning(emulator, run_playbook):
    """Our PUT is held back; meanwhile another client completes the request; ours is then refused."""
    emulator.inject({'kind': 'latency', 'seconds': 1.5, 'method': 'PUT'})

    def complete_it_first():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if emulator.in_flight() and any(call['method'] == 'GET' for call in emulator.api_calls()):
                break
            time.sleep(0.02)
        session = requests.Session()
        session.auth = HttpNtlmAuth(ADMIN_LOGIN, ADMIN_PASSWORD)
        session.put('%s/api/v1.0/requests/%s' % (emulator.url, APPROVED), json={'status': 'Completed'}, verify=emulator.ca_path, timeout=10)

    other = threading.Thread(target=complete_it_first)
    other.start()
    result = run_playbook([complete()], module_defaults=connection(emulator))[0]
    other.join()
    emulator.wait_idle()
    assert result['changed'] is False and not result.get('failed'), result.get('msg')
    assert result['request']['status'] == 'Completed'
    assert any('someone else got there first' in warning for warning in result['warnings'])
    assert emulator.applied_puts(APPROVED) == 1


def test_a_list_with_lost_answers_applies_each_change_exactly_once(emulator, run_playbook):
    ids = ['5eed0003-0000-4000-8000-000000000001', '5EED0003-0000-4000-8000-000000000002', '5eed0018-0000-4000-8000-000000000001',
           '5EED0018-0000-4000-8000-000000000002', APPROVED]
    emulator.inject([{'kind': 'reset_after', 'method': 'PUT', 'times': 2}, {'kind': 'status', 'code': 503, 'method': 'PUT'},
                     {'kind': 'truncated', 'method': 'PUT'}])
    result = run_playbook([{'mim.cm.cm_request': dict(FAST, ids=ids, status='completed', workers=2)}], module_defaults=connection(emulator))[0]
    emulator.wait_idle()
    assert result['changed'] is True and not result.get('failed'), result.get('msg')
    assert sorted(result['changed_ids']) == sorted(request_id.lower() for request_id in ids)
    for request_id in ids:
        assert emulator.applied_puts(request_id) == 1, request_id
        assert emulator.stored_request(request_id)['Status'] == 8


def test_a_server_that_is_down_fails_after_the_retries_naming_the_call(start_emulator, run_playbook):
    emulator = start_emulator()
    emulator.stop()
    result = run_playbook([complete(retries=2)], module_defaults=connection(emulator))[0]
    assert result['failed'] is True
    assert result['msg'].startswith('GET /CertificateManagement/api/v1.0/requests/%s failed: the connection failed' % APPROVED)
    assert result['msg'].endswith('(after 3 attempts)')
    assert len(result['warnings']) == 2


def test_a_hostname_mismatch_says_to_fix_the_host_name(start_emulator, run_playbook):
    emulator = start_emulator('--cert-hostname', 'cm.example.com')
    result = run_playbook([complete()], module_defaults=connection(emulator))[0]
    assert result['failed'] is True and 'not valid for the host name in url' in result['msg']
    assert emulator.exchanges() == []


def test_ca_path_accepts_a_bundle_of_several_certificates(emulator, run_playbook):
    result = run_playbook([complete()], module_defaults=connection(emulator, ca_path=emulator.ca_bundle_path))[0]
    assert result['changed'] is True


def test_validate_certs_false_warns_once(emulator, run_playbook):
    options = connection(emulator, validate_certs=False)
    del options['ca_path']
    result = run_playbook([{'mim.cm.cm_request': {'ids': [APPROVED, '5eed0003-0000-4000-8000-000000000001'], 'status': 'completed'}}],
                          module_defaults=options)[0]
    assert result['changed'] is True
    assert len([warning for warning in result['warnings'] if 'validate_certs is false' in warning]) == 1


def test_plain_http_works_and_warns(start_emulator, run_playbook):
    emulator = start_emulator('--plain-http')
    assert emulator.url.startswith('http://')
    result = run_playbook([complete()], module_defaults=connection(emulator))[0]
    assert result['changed'] is True
    assert any('url uses http://' in warning for warning in result['warnings'])


def test_channel_binding_is_enforced_and_the_client_passes_it(start_emulator, run_playbook):
    emulator = start_emulator('--channel-binding', 'require')
    assert run_playbook([complete()], module_defaults=connection(emulator))[0]['changed'] is True


def test_the_reliability_page_lists_every_case():
    page = RELIABILITY_DOC.read_text()
    missing = [case.name for case in CASES if '\n   * - %s\n' % case.name not in page]
    assert not missing, 'docs/docsite/rst/reliability.rst lacks a row for: %s' % missing
