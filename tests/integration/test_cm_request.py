# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""mim.cm.cm_request run by ansible-playbook against the emulator, over HTTPS with real NTLM."""

from __future__ import annotations

import json

import pytest

from helpers import ADMIN_LOGIN, ADMIN_PASSWORD, READER_LOGIN, READER_PASSWORD, SEED, connection

DOCUMENTED_ID = 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099'


def seeded(status_code):
    """The GUID (as seeded, in its letter case) of a seeded request with this status number."""
    return next(request['Uuid'] for request in SEED['requests'] if request['Status'] == status_code and request['Uuid'] != DOCUMENTED_ID)


def puts(emulator):
    return [call for call in emulator.api_calls() if call['method'] == 'PUT']


def task(request_id, status, **options):
    return {'mim.cm.cm_request': dict(options, id=request_id, status=status)}


def test_check_mode_then_change_then_unchanged(emulator, run_playbook):
    run = run_playbook([
        dict(task(DOCUMENTED_ID, 'completed'), check_mode=True),
        task(DOCUMENTED_ID, 'completed'),
        task(DOCUMENTED_ID, 'completed'),
    ], module_defaults=connection(emulator), extra_args=['--diff'])

    check, change, again = run.results
    assert check['changed'] is True and not check.get('failed')
    assert (check['request']['status'], check['request']['status_code']) == ('Completed', 8)
    assert check['request']['completed'] is None, 'check mode predicts the status only'
    assert check['diff'] == {'before': {'status': 'Approved'}, 'after': {'status': 'Completed'}}

    assert change['changed'] is True and not change.get('failed')
    assert (change['request']['status'], change['request']['status_code']) == ('Completed', 8)
    assert change['request']['completed'].endswith('Z')
    assert change['diff'] == {'before': {'status': 'Approved'}, 'after': {'status': 'Completed'}}

    assert again['changed'] is False and not again.get('failed')
    assert again['request'] == change['request']
    assert 'diff' not in again

    assert [(call['method'], call['status']) for call in emulator.api_calls()] == [('GET', 200), ('GET', 200), ('PUT', 200), ('GET', 200)]
    assert emulator.stored_request(DOCUMENTED_ID)['Status'] == 8


def test_the_documented_example_facts(emulator, run_playbook):
    request = run_playbook([task(DOCUMENTED_ID.upper(), 'completed')], module_defaults=connection(emulator))[0]['request']
    assert request['uuid'] == DOCUMENTED_ID
    assert (request['request_type'], request['request_type_code']) == ('Enroll', 1)
    assert request['flags'] == 2 and request['data_collection_flags'] == 32 and request['priority'] == 0
    assert request['submitted'] == '2015-07-07T23:36:21.93Z'
    assert request['is_smartcard'] is True and request['is_enrollment_agent'] is False and request['is_data_collection_complete'] is False
    assert not request['security_descriptor'].endswith('\u0000')
    assert all(set(item) == {'name', 'value'} for item in request['data_collection'])
    assert all(value == value.lower() for key, value in request.items() if key.endswith('uuid'))


def test_abandoned_ends_failed_and_reruns_unchanged(emulator, run_playbook):
    executing = seeded(18)
    run = run_playbook([task(executing, 'abandoned'), task(executing, 'abandoned')], module_defaults=connection(emulator))
    assert run[0]['changed'] is True and run[0]['request']['status'] == 'Failed'
    assert run[1]['changed'] is False and run[1]['request']['status'] == 'Failed'
    assert [call['body'] for call in puts(emulator)] == [{'status': 'Abandoned'}]


def test_a_completed_request_cannot_be_canceled_and_nothing_is_sent(emulator, run_playbook):
    completed = seeded(8)
    result = run_playbook([task(completed, 'canceled')], module_defaults=connection(emulator))[0]
    assert result['failed'] is True
    assert 'the request is Completed and cannot become canceled' in result['msg']
    assert puts(emulator) == []


def test_a_refused_change_reports_the_server_message_and_correlation_id(emulator, run_playbook):
    pending = seeded(16)
    result = run_playbook([task(pending, 'completed')], module_defaults=connection(emulator))[0]
    assert result['failed'] is True
    assert result['msg'].startswith('PUT /CertificateManagement/api/v1.0/requests/%s failed: HTTP 500' % pending.lower())
    assert 'Correlation ID' in result['msg']
    assert result['status_code'] == 500
    assert result['correlation_id'] and result['correlation_id'] in result['msg'].lower()
    assert emulator.stored_request(pending)['Status'] == 16


def test_an_unknown_guid_fails_naming_it(emulator, run_playbook):
    unknown = 'dddddddd-0000-4000-8000-00000000dead'
    result = run_playbook([task(unknown, 'completed')], module_defaults=connection(emulator))[0]
    assert result['failed'] is True
    assert 'request %s was not found' % unknown in result['msg']
    assert [(call['method'], call['status']) for call in emulator.api_calls()] == [('GET', 204)]


def test_an_unknown_guid_answered_with_404_fails_the_same_way(start_emulator, run_playbook):
    emulator = start_emulator('--unknown-request', '404')
    unknown = 'dddddddd-0000-4000-8000-00000000dead'
    result = run_playbook([task(unknown, 'canceled')], module_defaults=connection(emulator))[0]
    assert 'request %s was not found' % unknown in result['msg']


def test_a_malformed_guid_fails_before_any_network_traffic(emulator, run_playbook):
    result = run_playbook([task('a9b4b42c-cc50-4c9b-89d1', 'completed')], module_defaults=connection(emulator))[0]
    assert result['failed'] is True
    assert "id 'a9b4b42c-cc50-4c9b-89d1' is not a GUID" in result['msg']
    assert emulator.exchanges() == []


def test_a_wrong_password_fails_as_authentication_and_never_shows_the_password(emulator, run_playbook):
    wrong_password = 'Wr0ng-But-Secret-%s' % ADMIN_PASSWORD[::-1]
    run = run_playbook([task(DOCUMENTED_ID, 'completed')], module_defaults=connection(emulator, password=wrong_password), verbosity=4)
    assert run[0]['failed'] is True
    assert 'HTTP 401' in run[0]['msg'] and 'authentication failed' in run[0]['msg']
    assert wrong_password not in run.output
    assert wrong_password not in json.dumps(run.results)
    assert emulator.stored_request(DOCUMENTED_ID)['Status'] == 3


def test_the_password_never_shows_in_a_verbose_successful_run(emulator, run_playbook):
    run = run_playbook([task(DOCUMENTED_ID, 'completed')], module_defaults=connection(emulator), verbosity=4)
    assert run[0]['changed'] is True
    assert ADMIN_PASSWORD not in run.output


def test_a_read_only_user_gets_a_permission_failure(emulator, run_playbook):
    result = run_playbook([task(DOCUMENTED_ID, 'completed')], module_defaults=connection(emulator, READER_LOGIN, READER_PASSWORD))[0]
    assert result['failed'] is True
    assert 'HTTP 403' in result['msg'] and 'permission denied' in result['msg']
    assert result['status_code'] == 403
    assert emulator.stored_request(DOCUMENTED_ID)['Status'] == 3


def test_an_untrusted_certificate_fails_pointing_at_ca_path(emulator, run_playbook):
    options = connection(emulator)
    del options['ca_path']
    result = run_playbook([task(DOCUMENTED_ID, 'completed')], module_defaults=options)[0]
    assert result['failed'] is True
    assert 'could not be verified' in result['msg'] and 'ca_path' in result['msg']
    assert emulator.exchanges() == []


def test_ca_path_wins_over_requests_ca_bundle(emulator, run_playbook):
    """This machine sets REQUESTS_CA_BUNDLE, which requests lets override a Session's verify."""
    run = run_playbook([task(DOCUMENTED_ID, 'completed')], module_defaults=connection(emulator),
                       env={'REQUESTS_CA_BUNDLE': '/etc/ssl/certs/ca-certificates.crt', 'CURL_CA_BUNDLE': '/etc/ssl/certs/ca-certificates.crt'})
    assert run[0]['changed'] is True, run[0].get('msg')


def test_validate_certs_false_connects_to_an_untrusted_server(emulator, run_playbook):
    options = connection(emulator, validate_certs=False)
    del options['ca_path']
    assert run_playbook([task(DOCUMENTED_ID, 'completed')], module_defaults=options)[0]['changed'] is True


def test_url_forms_all_reach_the_api(emulator, run_playbook):
    root = emulator.url.rsplit('/CertificateManagement', 1)[0]
    forms = [root, root + '/', root + '/CertificateManagement', root + '/certificatemanagement/', root + '/CertificateManagement/api/v1.0/']
    run = run_playbook([dict(task(DOCUMENTED_ID, 'completed'), **{'mim.cm.cm_request': dict(
        connection(emulator, url=url), id=DOCUMENTED_ID, status='completed')}) for url in forms])
    assert [result.get('failed', False) for result in run.results] == [False] * len(forms), [result.get('msg') for result in run.results]
    assert all('/CertificateManagement/api/v1.0/requests/' in call['path'].replace('certificatemanagement', 'CertificateManagement')
               for call in emulator.api_calls())


def test_connection_options_given_on_the_task(emulator, run_playbook):
    result = run_playbook([task(DOCUMENTED_ID, 'completed', **connection(emulator))])[0]
    assert result['changed'] is True


def test_connection_options_from_the_environment(emulator, run_playbook):
    env = {
        'MIM_CM_URL': emulator.url,
        'MIM_CM_USERNAME': ADMIN_LOGIN,
        'MIM_CM_PASSWORD': ADMIN_PASSWORD,
        'MIM_CM_CA_PATH': emulator.ca_path,
        'MIM_CM_AUTH': 'ntlm',
        'MIM_CM_VALIDATE_CERTS': 'true',
    }
    run = run_playbook([task(DOCUMENTED_ID, 'completed')], env=env)
    assert run[0]['changed'] is True, run[0].get('msg')
    assert ADMIN_PASSWORD not in run.output


def test_a_put_answered_with_204_is_followed_by_a_get(start_emulator, run_playbook):
    emulator = start_emulator('--put-response', '204')
    result = run_playbook([task(DOCUMENTED_ID, 'completed')], module_defaults=connection(emulator))[0]
    assert result['changed'] is True and result['request']['status'] == 'Completed'
    assert [(call['method'], call['status']) for call in emulator.api_calls()] == [('GET', 200), ('PUT', 204), ('GET', 200)]


def test_round_trips_one_call_unchanged_two_changed_on_one_connection(emulator, run_playbook):
    run_playbook([task(DOCUMENTED_ID, 'completed')], module_defaults=connection(emulator))
    changed_run = emulator.exchanges()
    run_playbook([task(DOCUMENTED_ID, 'completed')], module_defaults=connection(emulator))
    unchanged_run = emulator.exchanges()[len(changed_run):]

    for exchanges, expected_calls in ((changed_run, [('GET', 200), ('PUT', 200)]), (unchanged_run, [('GET', 200)])):
        calls = [(exchange['method'], exchange['status']) for exchange in exchanges if not exchange['auth_leg']]
        assert calls == expected_calls
        assert len(set(exchange['connection'] for exchange in exchanges)) == 1, 'one TCP connection per task'
        assert [exchange['status'] for exchange in exchanges if exchange['auth_leg']] == [401, 401], 'one NTLM handshake per task'


def test_an_unknown_guid_answered_with_403_says_to_check_the_guid(start_emulator, run_playbook):
    emulator = start_emulator('--unknown-request', '403')
    result = run_playbook([task('dddddddd-0000-4000-8000-00000000dead', 'completed')], module_defaults=connection(emulator))[0]
    assert result['failed'] is True and result['status_code'] == 403
    assert 'permission denied' in result['msg'] and 'check the GUID' in result['msg']


# --- the inferred PUT cells switched the other way (--transition): the server has the last word -------------

def test_a_server_that_completes_pending_requests_is_asked_not_second_guessed(start_emulator, run_playbook):
    emulator = start_emulator('--transition', 'Completed=Pending,Approved,Executing')
    result = run_playbook([task(seeded(16), 'completed')], module_defaults=connection(emulator))[0]
    assert result['changed'] is True and result['request']['status'] == 'Completed', result.get('msg')
    assert emulator.stored_request(seeded(16))['Status'] == 8


@pytest.mark.parametrize('transition, status_code, target', [
    ('Canceled=Approved,Executing', 16, 'canceled'),  # a server on which Pending cannot be canceled
    ('Completed=Approved', 18, 'completed'),  # ... on which Executing cannot be completed
    ('Canceled=Pending,Approved', 18, 'canceled'),  # ... on which Executing cannot be canceled
])
def test_a_refused_inferred_change_fails_with_the_servers_word_and_changes_nothing(
        start_emulator, run_playbook, transition, status_code, target):
    emulator = start_emulator('--transition', transition)
    request_id = seeded(status_code)
    result = run_playbook([task(request_id, target)], module_defaults=connection(emulator))[0]
    assert result['failed'] is True and result['status_code'] == 500, result.get('msg')
    assert result['correlation_id'] and result['correlation_id'] in result['msg'].lower()
    assert 'not allowed in this state' in result['msg']
    assert result['request']['status_code'] == status_code, 'the failure shows the request as it was read'
    assert len(puts(emulator)) == 1, 'a refusal is not retried'
    assert emulator.stored_request(request_id)['Status'] == status_code
