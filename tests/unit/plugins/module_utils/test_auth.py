# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure parts of the auth package: the option checks, WWW-Authenticate parsing, what a final 401 means, and how
pyspnego's reasons are read. The logins themselves run against a real MIT KDC in tests/integration/test_kerberos.py."""

from __future__ import annotations

import logging
import pathlib

import pytest

from ansible_collections.mim.cm.plugins.module_utils import _client
from ansible_collections.mim.cm.plugins.module_utils._auth import diagnostics, method, negotiate
from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError

ADMIN_PRINCIPAL = 'cmadmin@MIMCM.TEST'
SPN = 'HTTP/cm.example.com'
# What pyspnego 0.12 (gssapi) says when the KDC refuses the password during Negotiate's Kerberos attempt.
PREAUTH_FAILED = ('SpnegoError (1): Major (851968): Unspecified GSS failure.  Minor code may provide more information, '
                  'Minor (2529638936): Preauthentication failed, Context: Getting kerberos ticket with password')


class Explained(object):
    """A login state as the handshake leaves it; explain_401() says what the client would."""

    def __init__(self, offered, mechanism, kerberos_failure):
        self.state = diagnostics.LoginState()
        self.state.offered = offered
        self.state.mechanism = mechanism
        self.state.kerberos_failure = kerberos_failure

    def explain_401(self, spn):
        return diagnostics.explain_401(self.state, 'negotiate', 'cmadmin@EXAMPLE.COM', spn)


def negotiate_state(offered, mechanism, kerberos_failure):
    return Explained(offered, mechanism, kerberos_failure)


@pytest.mark.parametrize('mechanism', [None, 'ntlm'])
def test_a_final_rejection_after_a_refused_preauthentication_says_the_password_was_refused(mechanism):
    # As against Apache httpd with mod_auth_gssapi: Negotiate only, the NTLM fallback rejected without a token.
    text = negotiate_state(['Negotiate'], mechanism, PREAUTH_FAILED).explain_401(SPN)
    assert text.startswith('the password (or the account) of cmadmin@EXAMPLE.COM was refused')
    assert 'Check password' in text and '(Kerberos said: Preauthentication failed)' in text
    assert 'SPN' not in text and 'setspn' not in text


def test_other_final_rejections_keep_their_explanations():
    assert 'refused the Kerberos login of cmadmin@EXAMPLE.COM' in negotiate_state(['Negotiate'], 'kerberos', None).explain_401(SPN)
    assert 'refused the NTLM login inside it' in negotiate_state(['Negotiate', 'NTLM'], 'ntlm', None).explain_401(SPN)
    unknown = "Minor (2529638918): Client 'x@EXAMPLE.COM' not found in Kerberos database"
    assert 'the KDC does not know the principal' in negotiate_state(['Negotiate'], 'ntlm', unknown).explain_401(SPN)
    assert 'does not offer Negotiate' in negotiate_state(['NTLM'], None, None).explain_401(SPN)


def test_the_fallback_reason_is_read_from_the_records_arguments_not_its_wording():
    logger = logging.getLogger('spnego._negotiate')
    with diagnostics.CaptureFallback() as reasons:
        # Exactly as pyspnego logs it (spnego/_negotiate.py), and once reworded: both are read.
        logger.debug('Failed to create context for SPNEGO protocol %s: %s', 'kerberos', PREAUTH_FAILED)
        logger.debug('Could not build %s (%s)', 'kerberos', 'Ticket expired')
        logger.debug('Failed to create context for SPNEGO protocol %s: %s', 'ntlm', 'not this one')
        logger.debug('Attempting to create kerberos context when building SPNEGO mech list')
    assert reasons == [PREAUTH_FAILED, 'Ticket expired']
    assert not logger.handlers and not logger.isEnabledFor(logging.DEBUG), 'the logger is as it was'


def test_the_client_asks_the_factory_and_explains_a_negotiate_401_from_its_handshake(monkeypatch):
    monkeypatch.setattr(method, 'kerberos_missing', lambda auth: None)
    client = _client.CmClient('https://cm.example.com', ADMIN_PRINCIPAL, 'x', auth='negotiate')
    assert client.session.auth is client.login.handler and client.login.handler.spn == 'HTTP/cm.example.com'

    class Response(object):
        status_code = 401
        headers = {'WWW-Authenticate': 'NTLM'}

    assert 'does not offer Negotiate (Kerberos): its WWW-Authenticate offers NTLM' in client.login.explain_401(Response())
    ntlm = _client.CmClient('https://cm.example.com', 'EXAMPLE\\svc', 'x')
    assert ntlm.login.explain_401(Response()) is None


def test_the_installed_pyspnego_logs_the_fallback_reasons_as_the_capture_reads_them():
    spnego = pytest.importorskip('spnego')
    source = (pathlib.Path(spnego.__file__).parent / '_negotiate.py').read_text()
    assert 'log.debug("Failed to create context for SPNEGO protocol %s: %s", protocol, str(e))' in source


@pytest.mark.parametrize('options, message', [
    (dict(auth='kerberos', username='EXAMPLE\\svc', password='x'), 'is a DOMAIN\\user name, which Kerberos does not know'),
    (dict(auth='negotiate', password='x'), 'password needs username for auth=negotiate'),
    (dict(auth='kerberos', kerberos_hostname='HTTP/cm.example.com'), "kerberos_hostname 'HTTP/cm.example.com' is not valid"),
    (dict(auth='kerberos', kerberos_service='HTTP@cm'), "kerberos_service 'HTTP@cm' is not valid"),
    (dict(auth='ntlm', username='svc@example.com'), 'username and password are required for auth=ntlm'),
    (dict(auth='basic'), "auth 'basic' is not supported; use one of ntlm, negotiate, kerberos"),
])
def test_options_are_checked_before_any_traffic(options, message):
    if method.kerberos_missing(options.get('auth')):
        pytest.skip('gssapi/krb5 not installed: the missing-library failure comes first (tested in test_kerberos.py)')
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
    assert negotiate.offered_schemes(response) == schemes
    assert negotiate.negotiate_token(response) == token


def test_kerberos_error_messages_say_what_to_do_and_keep_kerberos_words():
    spn = 'HTTP/cm.example.com'
    assert diagnostics.describe_kerberos_error('Clock skew too great -1765328347', 'a@B', spn).startswith('the clocks of this host')
    text = diagnostics.describe_kerberos_error('Cannot find KDC for realm "B" -1765328230', 'a@B', spn)
    assert text.startswith('no KDC answered for the realm') and 'Cannot find KDC for realm' in text
    assert diagnostics.describe_kerberos_error('something new', None, spn) == (
        "Kerberos failed for the ticket cache's principal and the service principal HTTP/cm.example.com: something new")


class _Context(object):
    """A pyspnego context stand-in whose last step fails as a forged or corrupted final token makes it fail."""

    complete = False
    negotiated_protocol = 'kerberos'

    def step(self, token):
        raise ValueError('SpnegoError (9): Major (589824): Invalid token was supplied, Minor (100001): Success, Context: %r' % token)


def test_a_final_token_that_does_not_verify_fails_the_login():
    auth = negotiate.HttpNegotiateAuth('kerberos', ADMIN_PRINCIPAL, 'x')
    with pytest.raises(negotiate.NegotiateAuthError) as caught:
        auth._finish(_Context(), b'forged', 'HTTP/cm.example.com')  # pylint: disable=protected-access
    assert caught.value.message.startswith('the server accepted the login but its final Negotiate token (mutual authentication) '
                                           'is not valid, so it did not prove to be HTTP/cm.example.com')
    assert auth._finish(type('Done', (_Context,), {'complete': True})(), b'late', 'HTTP/x') is None  # pylint: disable=protected-access


@pytest.mark.parametrize('options, message', [
    (dict(auth='kerberos', username='EXAMPLE\\svc', password='x'), 'is a DOMAIN\\user name, which Kerberos does not know'),
    (dict(auth='negotiate', password='x'), 'password needs username for auth=negotiate'),
    (dict(auth='kerberos', kerberos_hostname='HTTP/cm.example.com'), "kerberos_hostname 'HTTP/cm.example.com' is not valid"),
    (dict(auth='negotiate', kerberos_service=' '), "kerberos_service ' ' is not valid"),
])
def test_kerberos_option_checks_run_whatever_libraries_are_installed(monkeypatch, options, message):
    monkeypatch.setattr(method, 'kerberos_missing', lambda auth: None)
    with pytest.raises(CmInputError) as caught:
        _client.CmClient('https://cm.example.com', **options)
    assert message in caught.value.message


def test_missing_kerberos_libraries_are_named_with_what_to_install(monkeypatch):
    monkeypatch.setattr(negotiate, 'HAS_SPNEGO', False)
    monkeypatch.setattr(negotiate, 'SPNEGO_IMPORT_ERROR', 'Traceback: no spnego')
    message, trace = method.kerberos_missing('kerberos')
    assert 'pyspnego' in message and 'auth=kerberos' in message and trace == 'Traceback: no spnego'
    assert method.kerberos_missing('ntlm') is None
    with pytest.raises(CmInputError) as caught:
        _client.CmClient('https://cm.example.com', auth='negotiate')
    assert 'pyspnego' in caught.value.message
