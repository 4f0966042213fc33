# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Negotiate handshake's legs against a scripted connection and a scripted pyspnego context (no network, no KDC).

The real logins run against an MIT KDC in tests/integration/test_kerberos.py; these pin the flow: which header
goes out on which leg, when the handshake stops, and what it records for the client's explanations.
"""

from __future__ import annotations

import base64
import logging
import types

import pytest

from ansible_collections.mim.cm.plugins.module_utils._auth import negotiate

PREAUTH_FAILED = 'Minor (2529638936): Preauthentication failed'


class Headers(dict):
    """Response headers: get() and, as urllib3's, getlist() for WWW-Authenticate."""

    def getlist(self, name):
        value = self.get(name)
        return [part.strip() for part in value.split('|')] if value else []


class Request(object):
    def __init__(self, headers=None):
        self.headers = dict(headers or {})
        self.body = None

    def copy(self):
        return Request(self.headers)


class Response(object):
    def __init__(self, status_code, www_authenticate=None, connection=None, request=None, cookie=None):
        self.status_code = status_code
        self.headers = Headers()
        if www_authenticate:
            self.headers['WWW-Authenticate'] = www_authenticate
        if cookie:
            self.headers['set-cookie'] = cookie
        self.raw = types.SimpleNamespace(headers=self.headers, release_conn=lambda: None)
        self.content = b''
        self.url = 'https://cm.example.com/CertificateManagement/api/v1.0/requests'
        self.request = request or Request()
        self.connection = connection
        self.history = []


class Connection(object):
    """Answers each leg with the next scripted response; keeps the requests it was sent."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.sent = []

    def send(self, request, **kwargs):
        self.sent.append((dict(request.headers), kwargs))
        answer = self.answers.pop(0)
        answer.request = request
        return answer


class Context(object):
    """pyspnego's client context: step() gives the next token; the final step may be made to fail."""

    def __init__(self, protocol='kerberos', tokens=(b'first', b'second'), fail_on=None):
        self.negotiated_protocol = protocol
        self.tokens = list(tokens)
        self.complete = False
        self.fail_on = fail_on
        self.received = []

    def step(self, token=None):
        self.received.append(token)
        if token is not None and token == self.fail_on:
            raise ValueError('SpnegoError (9): Major (589824): Invalid token was supplied, Minor (100001): Success')
        if not self.tokens:
            self.complete = True
            return None
        return self.tokens.pop(0)


def token(value):
    return 'Negotiate %s' % base64.b64encode(value).decode()


@pytest.fixture
def spnego(monkeypatch):
    """Replaces pyspnego: client() returns `context`, after logging what pyspnego logs when Kerberos is not usable."""
    made = types.SimpleNamespace(context=Context(), calls=[], fallback=None, error=None)

    def client(username, password, **kwargs):
        made.calls.append((username, password, kwargs))
        if made.fallback:
            logging.getLogger('spnego._negotiate').debug('Failed to create context for SPNEGO protocol %s: %s', 'kerberos', made.fallback)
        if made.error:
            raise made.error
        return made.context

    monkeypatch.setattr(negotiate, 'spnego', types.SimpleNamespace(client=client), raising=False)
    return made


def login(auth, first, send_kwargs=None):
    return auth.response_hook(first, **(send_kwargs or {'timeout': 5}))


def test_the_request_asks_for_keep_alive_and_registers_the_hook():
    registered = []
    request = types.SimpleNamespace(headers={}, register_hook=lambda event, hook: registered.append(event))
    auth = negotiate.HttpNegotiateAuth('kerberos')
    assert auth(request) is request and request.headers['Connection'] == 'Keep-Alive' and registered == ['response']


def test_a_kerberos_login_in_one_leg_checks_the_servers_final_token(spnego):
    connection = Connection(Response(200, token(b'mutual')))
    auth = negotiate.HttpNegotiateAuth('kerberos', 'cmadmin@EXAMPLE.COM', 'pw', hostname='cm.example.com')
    first = Response(401, 'Negotiate|NTLM', connection)
    answer = login(auth, first)
    assert answer.status_code == 200 and answer.history == [first]
    assert connection.sent == [({'Authorization': token(b'first')}, {'timeout': 5})]
    assert spnego.context.received == [None, b'mutual']
    assert spnego.calls[0][2]['hostname'] == 'cm.example.com' and spnego.calls[0][2]['protocol'] == 'kerberos'
    assert auth.state.offered == ['Negotiate', 'NTLM'] and auth.state.mechanism == 'kerberos'


def test_ntlm_inside_negotiate_takes_two_legs_and_warns_why_kerberos_was_not_used(spnego):
    spnego.context = Context('ntlm')
    spnego.fallback = PREAUTH_FAILED
    warnings = []
    connection = Connection(Response(401, token(b'challenge'), cookie='s=1'), Response(200))
    auth = negotiate.HttpNegotiateAuth('negotiate', 'cmadmin@EXAMPLE.COM', 'pw', hostname='cm.example.com', warn=warnings.append)
    answer = login(auth, Response(401, 'Negotiate', connection))
    assert answer.status_code == 200 and len(answer.history) == 2
    assert [headers['Authorization'] for headers, dummy in connection.sent] == [token(b'first'), token(b'second')]
    assert connection.sent[1][0]['Cookie'] == 's=1'
    assert auth.state.kerberos_failure == PREAUTH_FAILED
    assert warnings and warnings[0].startswith('auth=negotiate logged in with NTLM, not Kerberos (the KDC refused the password')


def test_a_refusal_without_a_token_ends_the_handshake_for_the_client_to_explain(spnego):
    connection = Connection(Response(401, 'Negotiate'))
    auth = negotiate.HttpNegotiateAuth('kerberos', 'cmadmin@EXAMPLE.COM', 'pw')
    answer = login(auth, Response(401, 'Negotiate', connection))
    assert answer.status_code == 401 and len(connection.sent) == 1
    assert auth.state.offered == ['Negotiate'] and auth.state.mechanism == 'kerberos'


def test_a_server_that_does_not_offer_negotiate_gets_no_token(spnego):
    connection = Connection()
    auth = negotiate.HttpNegotiateAuth('negotiate', 'cmadmin@EXAMPLE.COM', 'pw')
    first = Response(401, 'NTLM', connection)
    assert login(auth, first) is first and connection.sent == [] and spnego.calls == []
    assert auth.state.offered == ['NTLM']


def test_answers_that_are_not_a_first_401_are_left_alone(spnego):
    auth = negotiate.HttpNegotiateAuth('kerberos')
    ok = Response(200)
    assert login(auth, ok) is ok
    retried = Response(401, 'Negotiate', request=Request({'Authorization': 'Negotiate x'}))
    assert login(auth, retried) is retried and spnego.calls == []


def test_a_login_that_cannot_start_says_why(spnego):
    spnego.error = ValueError('Minor (2529638918): Client \'nobody@EXAMPLE.COM\' not found in Kerberos database')
    auth = negotiate.HttpNegotiateAuth('kerberos', 'nobody@EXAMPLE.COM', 'pw', hostname='cm.example.com')
    with pytest.raises(negotiate.NegotiateAuthError) as caught:
        login(auth, Response(401, 'Negotiate', Connection()))
    assert caught.value.message.startswith('Kerberos login failed: the KDC does not know the principal nobody@EXAMPLE.COM')


def test_negotiate_that_cannot_start_gives_kerberos_reason_and_the_ntlm_fallbacks_need(spnego):
    spnego.fallback = 'Minor (100001): No Kerberos credentials available'
    spnego.error = ValueError('no mechanism left')
    auth = negotiate.HttpNegotiateAuth('negotiate', hostname='cm.example.com')
    with pytest.raises(negotiate.NegotiateAuthError) as caught:
        login(auth, Response(401, 'Negotiate', Connection()))
    assert caught.value.message.startswith('Negotiate could not start: no Kerberos ticket')
    assert caught.value.message.endswith('NTLM, the fallback, needs username and password')


def test_a_token_the_context_refuses_mid_handshake_fails_the_login(spnego):
    spnego.context = Context(fail_on=b'garbage')
    connection = Connection(Response(401, token(b'garbage')))
    auth = negotiate.HttpNegotiateAuth('kerberos', 'cmadmin@EXAMPLE.COM', 'pw', hostname='cm.example.com')
    with pytest.raises(negotiate.NegotiateAuthError) as caught:
        login(auth, Response(401, 'Negotiate', connection))
    assert caught.value.message.startswith('Kerberos login failed: Kerberos failed for cmadmin@EXAMPLE.COM')


def test_a_handshake_that_never_ends_is_cut(spnego):
    spnego.context = Context(tokens=[b't%d' % number for number in range(10)])
    connection = Connection(*[Response(401, token(b'more')) for dummy in range(negotiate.HttpNegotiateAuth.MAX_LEGS)])
    auth = negotiate.HttpNegotiateAuth('kerberos', 'cmadmin@EXAMPLE.COM', 'pw', hostname='cm.example.com')
    with pytest.raises(negotiate.NegotiateAuthError) as caught:
        login(auth, Response(401, 'Negotiate', connection))
    assert caught.value.message == 'the Negotiate handshake did not end after 5 legs'


def test_a_body_is_rewound_before_it_is_sent_again():
    import io  # pylint: disable=import-outside-toplevel
    body = io.BytesIO(b'{"status": "Completed"}')
    body.read()
    request = types.SimpleNamespace(body=body, headers={'Content-Length': str(len(body.getvalue()))})
    negotiate._rewind_body(request)  # pylint: disable=protected-access
    assert body.read() == b'{"status": "Completed"}'
    request.headers = {}
    negotiate._rewind_body(request)  # pylint: disable=protected-access
    assert body.tell() == 0


def test_no_certificate_hash_without_a_tls_socket():
    assert negotiate.server_certificate_hash(types.SimpleNamespace(raw=None)) is None


def test_the_certificate_hash_is_the_sha256_of_the_servers_certificate():
    trustme = pytest.importorskip('trustme')
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes  # pylint: disable=import-outside-toplevel
    pem = trustme.CA().issue_cert('cm.example.com').cert_chain_pems[0].bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(__import__('cryptography.hazmat.primitives.serialization',
                                                                      fromlist=['Encoding']).Encoding.DER)
    sock = types.SimpleNamespace(getpeercert=lambda binary: der)
    raw = types.SimpleNamespace(_fp=types.SimpleNamespace(fp=types.SimpleNamespace(raw=types.SimpleNamespace(_sock=sock))))
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    assert negotiate.server_certificate_hash(types.SimpleNamespace(raw=raw)) == digest.finalize()
