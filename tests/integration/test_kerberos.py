# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Kerberos (HTTP Negotiate) end to end: ansible-playbook runs the modules against the emulator, which accepts
Kerberos with a keytab issued by a real MIT KDC on 127.0.0.1 (tests/kdc/kdc.py), over TLS with channel bindings.

The KDC, its realm MIMCM.TEST, the principals and the keytab are made for this session in a temporary directory
and stopped by PID at the end. Every Kerberos client here gets a private krb5.conf (KRB5_CONFIG) and a ticket cache
in that directory (KRB5CCNAME): the user's own configuration and cache are never read or written.

Where the MIT Kerberos programs or the Python gssapi/krb5 libraries are missing (and `make kerberos` could not
install them), the tests that need them are skipped, with the reason in pytest's summary (-rs).
"""

from __future__ import annotations

import json
import os
import pathlib
import sys

import pytest

from helpers import ADMIN_LOGIN, ADMIN_PASSWORD, TESTS_DIR

sys.path.insert(0, str(TESTS_DIR / 'kdc'))

import kdc as kdc_module  # noqa: E402 pylint: disable=wrong-import-position

from ansible_collections.mim.cm.plugins.module_utils import _auth, _client  # noqa: E402 pylint: disable=wrong-import-position
from ansible_collections.mim.cm.plugins.module_utils._errors import CmApiError, CmInputError  # noqa: E402 pylint: disable=wrong-import-position

APPROVED = 'a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099'
APPROVED_TOO = '5eed0003-0000-4000-8000-000000000001'
EXECUTING = '5eed0018-0000-4000-8000-000000000001'
REALM = kdc_module.REALM
ADMIN_PRINCIPAL = 'cmadmin@%s' % REALM
KRB_ADMIN_PASSWORD = kdc_module.USERS['cmadmin']
FAST = {'retries': 0, 'timeout': 10}

SKIP_REASON = kdc_module.unavailable_reason(os.environ.get('MIM_CM_KERBEROS_INSTALL_LOG'))
needs_kdc = pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or '')


# --- the KDC and emulators that accept Kerberos --------------------------------------------------

@pytest.fixture
def start_kerberos_emulator(kdc, start_emulator):
    """Start an emulator on localhost (the SPN is HTTP/localhost) with the KDC's keytab; stopped by PID afterwards."""
    return lambda *options: start_emulator('--host', 'localhost', *options, env=kdc.emulator_env())


@pytest.fixture
def kerberos_emulator(start_kerberos_emulator):
    """The default emulator (Negotiate and NTLM offered, channel bindings required) accepting Kerberos."""
    return start_kerberos_emulator()


@pytest.fixture
def krb_env(kdc, tmp_path):
    """The environment of a playbook run: the private krb5.conf, and a ticket cache file of this test's own (not created)."""
    cache = tmp_path / 'ccache'
    env = kdc.env()
    env['KRB5CCNAME'] = 'FILE:%s' % cache
    return env


def kerberos(emulator, username=ADMIN_PRINCIPAL, password=KRB_ADMIN_PASSWORD, auth='kerberos', **overrides):
    """Connection options for Kerberos; username=None and password=None use the ticket cache."""
    options = dict(url=emulator.url, auth=auth, ca_path=emulator.ca_path)
    if username is not None:
        options['username'] = username
    if password is not None:
        options['password'] = password
    options.update(overrides)
    return options


def task(request_id, status='completed', **options):
    return {'mim.cm.cm_request': dict(options, id=request_id, status=status)}


def logins(exchanges):
    """(the mechanism, the user) of each exchange that ended a login: the first API call on each connection."""
    seen = set()
    result = []
    for exchange in exchanges:
        if not exchange['auth_leg'] and exchange['connection'] not in seen:
            seen.add(exchange['connection'])
            result.append((exchange['mechanism'], exchange['user']))
    return result


def sent_schemes(emulator):
    return sorted({exchange['mechanism'] for exchange in emulator.exchanges() if exchange['authorization']} - {None})


# --- with a password: the module gets its own ticket; the idempotent flow -------------------------

@needs_kdc
def test_kerberos_with_a_password_runs_the_idempotent_flow(kerberos_emulator, run_playbook, krb_env):
    run = run_playbook([
        dict(task(APPROVED), check_mode=True),
        task(APPROVED),
        task(APPROVED),
        {'mim.cm.cm_request': {'ids': [APPROVED_TOO, EXECUTING, APPROVED], 'status': 'completed', 'workers': 2}},
        {'mim.cm.cm_request': {'ids': [APPROVED_TOO, EXECUTING, APPROVED], 'status': 'completed', 'workers': 2}},
        {'mim.cm.cm_request_info': {'id': APPROVED}},
    ], module_defaults=kerberos(kerberos_emulator), env=krb_env, extra_args=['--diff'], verbosity=4)
    check, change, again, many, many_again, info = run.results
    assert check['changed'] is True and check['request']['status'] == 'Completed' and not check.get('failed'), check.get('msg')
    assert change['changed'] is True and change['diff'] == {'before': {'status': 'Approved'}, 'after': {'status': 'Completed'}}
    assert again['changed'] is False and 'diff' not in again and not again.get('failed')
    assert many['changed'] is True and sorted(many['changed_ids']) == sorted([APPROVED_TOO, EXECUTING]), many.get('msg')
    assert many_again['changed'] is False and many_again['changed_ids'] == []
    assert [request['status'] for request in info['requests']] == ['Completed']
    assert kerberos_emulator.applied_puts() == 3

    exchanges = kerberos_emulator.exchanges()
    assert set(logins(exchanges)) == {('kerberos', 'CONTOSO\\cmadmin')}
    assert sent_schemes(kerberos_emulator) == ['kerberos'], 'never NTLM'
    # Kerberos takes one leg: the unauthenticated call's 401, then the call again with the AP-REQ, answered 200.
    first_connection = [exchange for exchange in exchanges if exchange['connection'] == exchanges[0]['connection']]
    assert [(exchange['auth_leg'], exchange['authorization'], exchange['status']) for exchange in first_connection[:2]] == [
        (True, False, 401), (False, True, 200)]
    assert KRB_ADMIN_PASSWORD not in run.output and KRB_ADMIN_PASSWORD not in json.dumps(run.results)
    assert not os.path.exists(krb_env['KRB5CCNAME'][len('FILE:'):]), 'a password login touches no ticket cache file'
    assert not any(result.get('warnings') for result in run.results)


# --- with a ticket cache, as kinit left it -------------------------------------------------------

@needs_kdc
def test_kerberos_with_the_ticket_cache_kinit_filled(kdc, kerberos_emulator, run_playbook, krb_env, tmp_path):
    cache = tmp_path / 'ccache'
    kdc.kinit('cmadmin', cache)
    assert 'krbtgt/%s@%s' % (REALM, REALM) in kdc.klist(cache)
    run = run_playbook([task(APPROVED), task(APPROVED)], module_defaults=kerberos(kerberos_emulator, username=None, password=None),
                       env=krb_env)
    assert run[0]['changed'] is True, run[0].get('msg')
    assert run[1]['changed'] is False, run[1].get('msg')
    assert logins(kerberos_emulator.exchanges()) == [('kerberos', 'CONTOSO\\cmadmin')] * 2
    assert 'HTTP/localhost@%s' % REALM in kdc.klist(cache), 'the service ticket went into the same cache'


@needs_kdc
def test_a_username_without_password_picks_that_principal_from_the_cache(kdc, kerberos_emulator, run_playbook, krb_env, tmp_path):
    kdc.kinit('cmadmin', tmp_path / 'ccache')
    run = run_playbook([task(APPROVED, **kerberos(kerberos_emulator, password=None)),
                        task(APPROVED, **kerberos(kerberos_emulator, username='cmreader@%s' % REALM, password=None))], env=krb_env)
    assert run[0]['changed'] is True, run[0].get('msg')
    assert run[1]['failed'] is True, run[1].get('msg')
    assert 'the ticket cache holds no ticket for cmreader@MIMCM.TEST: run kinit cmreader@MIMCM.TEST' in run[1]['msg']


@needs_kdc
def test_no_ticket_in_the_cache_fails_saying_run_kinit(kerberos_emulator, run_playbook, krb_env):
    result = run_playbook([task(APPROVED, **FAST)], module_defaults=kerberos(kerberos_emulator, username=None, password=None),
                          env=krb_env)[0]
    assert result['failed'] is True
    assert result['msg'].startswith('GET /CertificateManagement/api/v1.0/requests/%s failed: HTTP 401' % APPROVED), result['msg']
    assert 'no Kerberos ticket: run kinit user@REALM first' in result['msg']
    assert 'No Kerberos credentials available' in result['msg'], 'Kerberos says it too'
    assert result['status_code'] == 401
    assert kerberos_emulator.stored_request(APPROVED)['Status'] == 3


# --- negotiate ---------------------------------------------------------------------------------------

@needs_kdc
def test_negotiate_against_a_server_offering_both_uses_kerberos(start_kerberos_emulator, run_playbook, krb_env):
    emulator = start_kerberos_emulator('--auth', 'both')
    run = run_playbook([task(APPROVED)], module_defaults=kerberos(emulator, auth='negotiate'), env=krb_env)
    assert run[0]['changed'] is True, run[0].get('msg')
    assert logins(emulator.exchanges()) == [('kerberos', 'CONTOSO\\cmadmin')]
    assert not run[0].get('warnings')
    # SPNEGO, not a raw Kerberos token: the emulator's final token (with the AP-REP) is a NegTokenResp, checked by the client.
    assert 'Negotiate (kerberos) login as CONTOSO\\cmadmin (cmadmin@MIMCM.TEST)' in emulator.stderr()


@needs_kdc
def test_negotiate_falls_back_to_ntlm_inside_spnego_and_says_why(start_kerberos_emulator, run_playbook, krb_env):
    emulator = start_kerberos_emulator('--auth', 'negotiate')
    # DOMAIN\user is no Kerberos principal: the KDC does not know it, and Negotiate uses NTLM with the same password.
    run = run_playbook([task(APPROVED)], module_defaults=kerberos(emulator, username=ADMIN_LOGIN, password=ADMIN_PASSWORD, auth='negotiate'),
                       env=krb_env)
    result = run[0]
    assert result['changed'] is True, result.get('msg')
    assert logins(emulator.exchanges()) == [('ntlm', 'CONTOSO\\cmadmin')]
    warning = ' '.join(result.get('warnings', []))
    assert 'auth=negotiate logged in with NTLM, not Kerberos' in warning
    assert 'not found in Kerberos database' in warning
    assert ADMIN_PASSWORD not in run.output


# --- kerberos never falls back ---------------------------------------------------------------------

@needs_kdc
def test_kerberos_against_a_server_offering_only_ntlm_fails_and_never_sends_ntlm(start_kerberos_emulator, run_playbook, krb_env):
    emulator = start_kerberos_emulator('--auth', 'ntlm')
    run = run_playbook([task(APPROVED, **FAST), task(APPROVED, **dict(FAST, auth='negotiate'))], module_defaults=kerberos(emulator),
                       env=krb_env)
    result, negotiate = run.results
    assert result['failed'] is True
    assert result['msg'].startswith('GET /CertificateManagement/api/v1.0/requests/%s failed: HTTP 401 Unauthorized' % APPROVED), result['msg']
    assert 'the server does not offer Negotiate (Kerberos): its WWW-Authenticate offers NTLM' in result['msg']
    assert 'use auth=ntlm' in result['msg']
    assert negotiate['failed'] is True and 'auth=negotiate cannot log in there' in negotiate['msg'], negotiate['msg']
    assert [(exchange['authorization'], exchange['status']) for exchange in emulator.exchanges()] == [(False, 401)] * 2, 'no NTLM token'
    assert emulator.stored_request(APPROVED)['Status'] == 3


# --- refusals: the password, the SPN, an unknown account ---------------------------------------------

@needs_kdc
def test_a_wrong_password_or_an_unknown_principal_is_refused_by_the_kdc(kerberos_emulator, run_playbook, krb_env):
    wrong = 'Wr0ng-But-Secret-%s' % KRB_ADMIN_PASSWORD[::-1]
    run = run_playbook([task(APPROVED, **dict(FAST, password=wrong)), task(APPROVED, **dict(FAST, username='nobody@%s' % REALM))],
                       module_defaults=kerberos(kerberos_emulator), env=krb_env, verbosity=4)
    result, unknown = run.results
    assert result['failed'] is True and result['status_code'] == 401
    assert 'the KDC refused the password of cmadmin@MIMCM.TEST' in result['msg'], result['msg']
    assert '(Kerberos said: Preauthentication failed)' in result['msg']
    assert wrong not in run.output and wrong not in json.dumps(run.results)
    assert KRB_ADMIN_PASSWORD not in run.output
    assert 'the KDC does not know the principal nobody@MIMCM.TEST' in unknown['msg'], unknown['msg']
    assert [exchange['authorization'] for exchange in kerberos_emulator.exchanges()] == [False] * 2, 'no token was sent to the server'


@needs_kdc
def test_a_wrong_password_under_negotiate_says_the_password_was_refused(start_kerberos_emulator, run_playbook, krb_env):
    """The KDC refuses pre-authentication, Negotiate falls back to NTLM, the server refuses that too (issue 12)."""
    emulator = start_kerberos_emulator('--auth', 'negotiate')
    wrong = 'Wr0ng-But-Secret-%s' % KRB_ADMIN_PASSWORD[::-1]
    run = run_playbook([task(APPROVED, **dict(FAST, password=wrong))], module_defaults=kerberos(emulator, auth='negotiate'),
                       env=krb_env, verbosity=4)
    result = run[0]
    assert result['failed'] is True and result['status_code'] == 401
    assert 'the password (or the account) of cmadmin@MIMCM.TEST was refused' in result['msg'], result['msg']
    assert 'Preauthentication failed' in result['msg']
    assert wrong not in run.output and wrong not in json.dumps(run.results)
    assert emulator.stored_request(APPROVED)['Status'] == 3


@needs_kdc
def test_a_wrong_spn(kerberos_emulator, run_playbook, krb_env):
    run = run_playbook([
        # An SPN the KDC does not know: no service ticket, nothing sent to the server.
        task(APPROVED, **dict(FAST, kerberos_hostname='cm.mimcm.test')),
        # An SPN the KDC knows but the server's keytab does not hold: the server refuses the ticket.
        task(APPROVED, **dict(FAST, kerberos_hostname=kdc_module.FOREIGN_SERVICE_HOST)),
        # The right one, given explicitly, and the service name in another case (Kerberos names are case-sensitive).
        task(APPROVED, **dict(FAST, kerberos_hostname='localhost', kerberos_service='HTTP')),
        task(APPROVED, **dict(FAST, kerberos_service='http')),
    ], module_defaults=kerberos(kerberos_emulator), env=krb_env)
    unknown, foreign, right, wrong_case = run.results
    assert unknown['failed'] is True
    assert 'the KDC has no service principal HTTP/cm.mimcm.test' in unknown['msg'], unknown['msg']
    assert 'set kerberos_hostname (and kerberos_service)' in unknown['msg']
    assert foreign['failed'] is True and foreign['status_code'] == 401
    assert ('the server offered Negotiate and refused the Kerberos login of cmadmin@MIMCM.TEST for HTTP/%s'
            % kdc_module.FOREIGN_SERVICE_HOST) in foreign['msg'], foreign['msg']
    assert right['changed'] is True, right.get('msg')
    assert wrong_case['failed'] is True and 'HTTP/localhost' not in wrong_case['msg'] and 'http/localhost' in wrong_case['msg']


@needs_kdc
def test_a_principal_without_a_cm_account_is_refused_and_a_reader_cannot_change(kerberos_emulator, run_playbook, krb_env):
    run = run_playbook([
        task(APPROVED, **dict(FAST, username='outsider@%s' % REALM, password=kdc_module.USERS['outsider'])),
        task(APPROVED, **dict(FAST, username='cmreader@%s' % REALM, password=kdc_module.USERS['cmreader'])),
    ], module_defaults=kerberos(kerberos_emulator), env=krb_env)
    outsider, reader = run.results
    assert outsider['failed'] is True and 'refused the Kerberos login of outsider@MIMCM.TEST' in outsider['msg'], outsider['msg']
    assert reader['failed'] is True and reader['status_code'] == 403 and 'permission denied' in reader['msg']
    assert kerberos_emulator.stored_request(APPROVED)['Status'] == 3


# --- channel binding over TLS --------------------------------------------------------------------------

@needs_kdc
def test_channel_bindings_over_tls_are_sent_and_checked(kdc, start_kerberos_emulator, monkeypatch):
    """The module's Kerberos login carries tls-server-end-point bindings: a server that requires them accepts it,
    and the same login without them is refused there (so the check is real), but accepted where they are optional."""
    for name, value in kdc.env().items():
        monkeypatch.setenv(name, value)
    required = start_kerberos_emulator('--channel-binding', 'require')
    optional = start_kerberos_emulator('--channel-binding', 'accept')

    def get(emulator, send_cbt):
        client = _client.CmClient(emulator.url, ADMIN_PRINCIPAL, KRB_ADMIN_PASSWORD, auth='kerberos', ca_path=emulator.ca_path, retries=0)
        client.session.auth.send_cbt = send_cbt
        try:
            return client.get_request(APPROVED)
        finally:
            client.close()

    assert get(required, send_cbt=True)['Uuid'] == APPROVED
    with pytest.raises(CmApiError) as refused:
        get(required, send_cbt=False)
    assert refused.value.status_code == 401
    assert 'refused the Kerberos login' in refused.value.message and 'channel binding' in refused.value.message
    assert 'the Kerberos authenticator carried none' in required.stderr()
    assert get(optional, send_cbt=False)['Uuid'] == APPROVED
    assert get(optional, send_cbt=True)['Uuid'] == APPROVED
    assert [login[0] for login in logins(required.exchanges()) + logins(optional.exchanges())] == ['kerberos'] * 3


@needs_kdc
def test_plain_http_warns_and_still_logs_in(start_kerberos_emulator, run_playbook, krb_env):
    emulator = start_kerberos_emulator('--plain-http')
    options = kerberos(emulator)
    del options['ca_path']
    result = run_playbook([task(APPROVED)], module_defaults=options, env=krb_env)[0]
    assert result['changed'] is True, result.get('msg')
    assert any('url uses http://: Negotiate messages' in warning for warning in result['warnings'])


# --- without the Kerberos libraries: a clear failure, and NTLM still works --------------------------------

def test_without_gssapi_kerberos_fails_saying_what_to_install_and_ntlm_still_works(emulator, run_playbook, tmp_path):
    """The modules must import and run NTLM where gssapi and krb5 are missing (as in ansible-test's import sanity)."""
    blocker = tmp_path / 'no-kerberos-libraries'
    blocker.mkdir()
    for name in ('gssapi', 'krb5'):
        (blocker / ('%s.py' % name)).write_text('raise ImportError("No module named %r (hidden by the test)")\n' % name)
    env = {'PYTHONPATH': str(blocker)}
    ntlm = dict(url=emulator.url, username=ADMIN_LOGIN, password=ADMIN_PASSWORD, ca_path=emulator.ca_path)
    kerberos_options = dict(ntlm, auth='kerberos')
    kerberos_options['username'] = ADMIN_PRINCIPAL
    run = run_playbook([
        task(APPROVED, **kerberos_options),
        task(APPROVED, **dict(ntlm, auth='negotiate')),
        task(APPROVED, **ntlm),
    ], env=env)
    kerberos_run, negotiate_run, ntlm_run = run.results
    for result, auth in ((kerberos_run, 'kerberos'), (negotiate_run, 'negotiate')):
        assert result['failed'] is True
        assert result['msg'].startswith('Failed to import the required Python library (gssapi and krb5)'), result['msg']
        assert 'This is required for auth=%s (Kerberos)' % auth in result['msg']
        assert 'pip install "pyspnego[kerberos]"' in result['msg'] and 'libkrb5-dev' in result['msg'] and 'auth=ntlm' in result['msg']
    assert ntlm_run['changed'] is True, ntlm_run.get('msg')
    assert emulator.exchanges()[0]['mechanism'] is None and logins(emulator.exchanges()) == [('ntlm', 'CONTOSO\\cmadmin')]


# --- the options, checked before any traffic (no KDC needed) -----------------------------------------------

@pytest.mark.parametrize('options, message', [
    (dict(auth='kerberos', username='EXAMPLE\\svc', password='x'), 'is a DOMAIN\\user name, which Kerberos does not know'),
    (dict(auth='negotiate', password='x'), 'password needs username for auth=negotiate'),
    (dict(auth='kerberos', kerberos_hostname='HTTP/cm.example.com'), "kerberos_hostname 'HTTP/cm.example.com' is not valid"),
    (dict(auth='kerberos', kerberos_service='HTTP@cm'), "kerberos_service 'HTTP@cm' is not valid"),
    (dict(auth='ntlm', username='svc@example.com'), 'username and password are required for auth=ntlm'),
    (dict(auth='basic'), "auth 'basic' is not supported; use one of ntlm, negotiate, kerberos"),
])
def test_options_are_checked_before_any_traffic(options, message):
    if options.get('auth') in _auth.KERBEROS_METHODS and kdc_module.missing_python_libraries():
        pytest.skip('gssapi/krb5 not installed: the missing-library failure comes first (tested above)')
    with pytest.raises(CmInputError) as caught:
        _client.CmClient('https://cm.example.com', **options)
    assert message in caught.value.message


def test_kerberos_options_with_ntlm_are_ignored_with_a_warning():
    warnings = []
    _client.CmClient('https://cm.example.com', 'EXAMPLE\\svc', 'x', kerberos_hostname='cm01.example.com', warn=warnings.append)
    _client.CmClient('https://cm.example.com', 'EXAMPLE\\svc', 'x', kerberos_service='HTTP', warn=warnings.append)
    assert warnings == ['kerberos_service and kerberos_hostname only apply to auth=negotiate and auth=kerberos; auth=ntlm ignores them']


class _Headers(object):
    def __init__(self, values):
        self.values = values

    def getlist(self, name):
        return self.values if name.lower() == 'www-authenticate' else []

    def get(self, name):
        return ', '.join(self.values) if name.lower() == 'www-authenticate' and self.values else None


class _Response(object):
    def __init__(self, *values):
        self.raw = type('Raw', (), {'headers': _Headers(list(values))})()
        self.headers = _Headers(list(values))


@pytest.mark.parametrize('values, schemes, token', [
    (['Negotiate', 'NTLM'], ['Negotiate', 'NTLM'], None),
    (['Negotiate, NTLM'], ['Negotiate', 'NTLM'], None),
    (['NTLM'], ['NTLM'], None),
    (['Negotiate oRswGaADCgEAoxIEEAEAAAA='], ['Negotiate'], b'\xa1\x1b0\x19\xa0\x03\n\x01\x00\xa3\x12\x04\x10\x01\x00\x00\x00'),
    (['Basic realm="cm", charset="UTF-8"', 'negotiate YWJj'], ['Basic', 'negotiate'], b'abc'),
    ([], [], None),
])
def test_www_authenticate_parsing(values, schemes, token):
    response = _Response(*values)
    assert _auth.offered_schemes(response) == schemes
    assert _auth.negotiate_token(response) == token


def test_kerberos_error_messages_say_what_to_do_and_keep_kerberos_words():
    spn = 'HTTP/cm.example.com'
    assert _auth.describe_kerberos_error('Clock skew too great -1765328347', 'a@B', spn).startswith('the clocks of this host')
    text = _auth.describe_kerberos_error('Cannot find KDC for realm "B" -1765328230', 'a@B', spn)
    assert text.startswith('no KDC answered for the realm') and 'Cannot find KDC for realm' in text
    assert _auth.describe_kerberos_error('something new', None, spn) == (
        "Kerberos failed for the ticket cache's principal and the service principal HTTP/cm.example.com: something new")


class _Context(object):
    """A pyspnego context stand-in whose last step fails as a forged or corrupted final token makes it fail."""

    complete = False
    negotiated_protocol = 'kerberos'

    def step(self, token):
        raise ValueError('SpnegoError (9): Major (589824): Invalid token was supplied, Minor (100001): Success, Context: %r' % token)


def test_a_final_token_that_does_not_verify_fails_the_login():
    auth = _auth.HttpNegotiateAuth('kerberos', ADMIN_PRINCIPAL, 'x')
    with pytest.raises(_auth.NegotiateAuthError) as caught:
        auth._finish(_Context(), b'forged', 'HTTP/cm.example.com')  # pylint: disable=protected-access
    assert caught.value.message.startswith('the server accepted the login but its final Negotiate token (mutual authentication) '
                                           'is not valid, so it did not prove to be HTTP/cm.example.com')
    assert auth._finish(type('Done', (_Context,), {'complete': True})(), b'late', 'HTTP/x') is None  # pylint: disable=protected-access


def test_kdc_unavailable_reason_names_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(kdc_module, 'find_program', lambda name: None)
    log = tmp_path / 'install.log'
    log.write_text('apt-get is not available on this machine\n')
    reason = kdc_module.unavailable_reason(str(log))
    assert 'krb5kdc' in reason and 'krb5-kdc krb5-admin-server krb5-user libkrb5-dev' in reason
    assert reason.endswith('its install step said: apt-get is not available on this machine')


def test_the_kdc_fixture_uses_private_files_only(kdc):
    env = kdc.env()
    assert pathlib.Path(env['KRB5_CONFIG']).parent == kdc.directory
    assert env['KRB5CCNAME'].startswith('FILE:%s' % kdc.directory)
    text = pathlib.Path(env['KRB5_CONFIG']).read_text()
    for line in ('rdns = false', 'dns_canonicalize_hostname = false', 'dns_lookup_kdc = false', 'kdc = 127.0.0.1:%d' % kdc.port):
        assert line in text
