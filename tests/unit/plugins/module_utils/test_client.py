# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest
import requests

from ansible_collections.mim.cm.plugins.module_utils import _client
from ansible_collections.mim.cm.plugins.module_utils._client import CmClient, api_base_url, correlation_id
from ansible_collections.mim.cm.plugins.module_utils._errors import CmApiError, CmConnectionError, CmInputError, CmTransientError

API = '/CertificateManagement/api/v1.0'


@pytest.mark.parametrize('url, expected', [
    ('https://cm.example.com', 'https://cm.example.com' + API),
    ('https://cm.example.com/', 'https://cm.example.com' + API),
    ('https://cm.example.com/CertificateManagement', 'https://cm.example.com' + API),
    ('https://cm.example.com/CertificateManagement/', 'https://cm.example.com' + API),
    ('https://cm.example.com/certificatemanagement', 'https://cm.example.com/certificatemanagement/api/v1.0'),
    ('https://cm.example.com/CertificateManagement/api/v1.0', 'https://cm.example.com' + API),
    ('https://cm.example.com/CertificateManagement/api/v1.0/', 'https://cm.example.com' + API),
    ('https://cm.example.com//CertificateManagement//api/v1.0//', 'https://cm.example.com' + API),
    ('HTTPS://cm.example.com:8443', 'https://cm.example.com:8443' + API),
    ('  https://cm.example.com  ', 'https://cm.example.com' + API),
    ('https://proxy.example.com/mim', 'https://proxy.example.com/mim' + API),
    ('http://127.0.0.1:8080/CertificateManagement', 'http://127.0.0.1:8080' + API),
])
def test_api_base_url_is_never_doubled(url, expected):
    assert api_base_url(url) == expected


@pytest.mark.parametrize('url', ['cm.example.com', 'ftp://cm.example.com', '', None, 'https://', 'https://cm.example.com/?a=1', 'https://cm.example.com/#x'])
def test_api_base_url_refuses_what_is_not_an_http_address(url):
    with pytest.raises(CmInputError):
        api_base_url(url)


def test_credentials_in_the_url_are_refused_without_echoing_them():
    with pytest.raises(CmInputError) as caught:
        api_base_url('https://EXAMPLE%5Cuser:S3cret-Passw0rd@cm.example.com/')
    assert 'S3cret-Passw0rd' not in caught.value.message
    assert 'username and password' in caught.value.message


@pytest.mark.parametrize('message, expected', [
    ('An error has occurred. Correlation ID: 6F2C5E1A-9B3D-4C7E-8A1F-2D3E4F5A6B7C', '6f2c5e1a-9b3d-4c7e-8a1f-2d3e4f5a6b7c'),
    ('Failed (correlation id 6f2c5e1a-9b3d-4c7e-8a1f-2d3e4f5a6b7c).', '6f2c5e1a-9b3d-4c7e-8a1f-2d3e4f5a6b7c'),
    ('CorrelationId=6f2c5e1a-9b3d-4c7e-8a1f-2d3e4f5a6b7c', '6f2c5e1a-9b3d-4c7e-8a1f-2d3e4f5a6b7c'),
    ('An error has occurred.', None),
    (None, None),
])
def test_correlation_id_is_found_in_the_server_message(message, expected):
    assert correlation_id(message) == expected


@pytest.mark.parametrize('validate_certs, ca_path, expected', [
    (True, None, True),
    (True, '/etc/pki/example-ca.pem', '/etc/pki/example-ca.pem'),
    (False, '/etc/pki/example-ca.pem', False),
    (False, None, False),
])
def test_verify_follows_validate_certs_and_ca_path(monkeypatch, validate_certs, ca_path, expected):
    for name in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
        monkeypatch.delenv(name, raising=False)
    client = CmClient('https://cm.example.com', 'EXAMPLE\\user', 'pw', validate_certs=validate_certs, ca_path=ca_path)
    assert client.verify == expected


@pytest.mark.parametrize('ca_path, expected', [(None, '/etc/pki/env-bundle.pem'), ('/etc/pki/example-ca.pem', '/etc/pki/example-ca.pem')])
def test_the_environments_ca_bundle_counts_only_without_ca_path(monkeypatch, ca_path, expected):
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', '/etc/pki/env-bundle.pem')
    assert CmClient('https://cm.example.com', 'EXAMPLE\\user', 'pw', ca_path=ca_path).verify == expected


@pytest.mark.parametrize('no_proxy, expected', [
    ('', 'http://proxy.example.com:3128'),
    ('.example.com', None),
    ('cm.example.com', None),
    ('other.example.org', 'http://proxy.example.com:3128'),
])
def test_the_environments_proxy_is_read_once_for_the_server(monkeypatch, no_proxy, expected):
    for name in ('http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('HTTPS_PROXY', 'http://proxy.example.com:3128')
    monkeypatch.setenv('NO_PROXY', no_proxy)
    client = CmClient('https://cm.example.com', 'EXAMPLE\\user', 'pw')
    # Settled at start: later changes to the environment do not reach this client's calls.
    monkeypatch.setenv('HTTPS_PROXY', 'http://other-proxy.example.com:3128')
    assert client.session.trust_env is False
    assert client.session.proxies.get('https') == expected
    assert client.session.merge_environment_settings(client.base_url, {}, None, client.verify, None)['proxies'] == client.session.proxies


@pytest.mark.parametrize('username, password', [(None, 'pw'), ('EXAMPLE\\user', None), ('', '')])
def test_ntlm_needs_username_and_password(username, password):
    with pytest.raises(CmInputError) as caught:
        CmClient('https://cm.example.com', username, password)
    assert 'username and password are required' in caught.value.message


class FakeRaw(object):
    """What the client reads of urllib3's streamed response: read1(), in pieces of at most `piece` bytes."""

    def __init__(self, body, piece=None):
        self.body = body
        self.piece = piece

    def read1(self, amount, decode_content=True):
        size = min(amount, self.piece or amount)
        chunk, self.body = self.body[:size], self.body[size:]
        return chunk


class FakeResponse(object):
    """What the client reads of a requests.Response (streamed: the body comes from raw)."""

    def __init__(self, status_code, reason, text, headers=None, body=None):
        self.status_code = status_code
        self.reason = reason
        self.text = text
        self.content = text.encode() if body is None else body
        self.headers = headers or {}
        self.raw = FakeRaw(self.content)
        self.closed = False

    def json(self):
        return json.loads(self.text)

    def close(self):
        self.closed = True


def test_api_error_carries_method_path_status_message_and_correlation_id():
    response = FakeResponse(500, 'Internal Server Error',
                            '{"Message": "An error has occurred. Request cannot be completed. Correlation ID: 6f2c5e1a-9b3d-4c7e-8a1f-2d3e4f5a6b7c"}')
    error = _client._api_error('PUT', API + '/requests/x', response)
    assert error.message.startswith('PUT %s/requests/x failed: HTTP 500 Internal Server Error: An error has occurred.' % API)
    assert error.correlation_id == '6f2c5e1a-9b3d-4c7e-8a1f-2d3e4f5a6b7c'
    assert error.details['status_code'] == 500
    assert error.details['api_path'] == API + '/requests/x'


def test_api_error_for_401_says_authentication_failed_and_ignores_the_html_body():
    error = _client._api_error('GET', API + '/requests/x', FakeResponse(401, 'Unauthorized', '<html><body>401 - Unauthorized</body></html>'))
    assert 'HTTP 401 Unauthorized' in error.message
    assert 'authentication failed' in error.message
    assert '<html>' not in error.message
    assert error.server_message is None


def test_api_error_for_403_says_permission_denied():
    error = _client._api_error('PUT', API + '/requests/x', FakeResponse(403, 'Forbidden', '{"Message": "Access is denied."}'))
    assert 'Access is denied.' in error.message
    assert 'permission denied' in error.message


def test_missing_libraries_are_named(monkeypatch):
    monkeypatch.setattr(_client, 'HAS_REQUESTS_NTLM', False)
    monkeypatch.setattr(_client, 'REQUESTS_NTLM_IMPORT_ERROR', 'Traceback ...')
    assert _client.missing_libraries() == [('requests-ntlm', 'Traceback ...')]


# --- the exchange loop, against a scripted session (no network) ---------------------------------

class ScriptedSession(object):
    """Stands in for requests.Session: each request takes the next outcome, a response or an exception to raise."""

    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.sent = []

    def request(self, method, url, **kwargs):
        self.sent.append((method, url, kwargs))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def close(self):
        pass


def scripted_client(outcomes, **options):
    warnings, sleeps = [], []
    options.setdefault('retries', 3)
    client = CmClient('https://cm.example.com', 'EXAMPLE\\user', 'pw', warn=warnings.append, retry_delay=0.1, **options)
    client.retry._sleep = sleeps.append
    client.retry._jitter = lambda: 0
    client.session = ScriptedSession(outcomes)
    return client, warnings, sleeps


OK_JSON = '{"Uuid": "5eed0003-0000-4000-8000-000000000001", "Status": 3}'


def test_a_get_is_retried_after_a_dropped_connection_and_every_retry_is_a_warning():
    client, warnings, sleeps = scripted_client([
        requests.exceptions.ConnectionError('Connection aborted: RemoteDisconnected'),
        FakeResponse(503, 'Service Unavailable', '<html>busy</html>', {'Retry-After': '2'}),
        FakeResponse(200, 'OK', OK_JSON),
    ])
    assert client.get_request('5eed0003-0000-4000-8000-000000000001')['Status'] == 3
    assert sleeps == [0.1, 2.0]
    assert len(warnings) == 2
    assert warnings[0].startswith('GET /CertificateManagement/api/v1.0/requests/5eed0003-0000-4000-8000-000000000001: the connection failed')
    assert 'HTTP 503 Service Unavailable (Retry-After: 2 s); retry 2 of 3 in 2.0 s' in warnings[1]


def test_a_get_gives_up_after_the_retries_saying_how_many_attempts():
    client, dummy, sleeps = scripted_client([requests.exceptions.ReadTimeout('read timed out')] * 4)
    with pytest.raises(CmTransientError) as caught:
        client.get_request('5eed0003-0000-4000-8000-000000000001')
    assert 'no answer within 30 seconds (timeout option)' in caught.value.message
    assert caught.value.message.endswith('(after 4 attempts)')
    assert len(sleeps) == 3


def test_a_get_answered_with_an_html_page_and_200_is_retried():
    client, warnings, dummy = scripted_client([FakeResponse(200, 'OK', '<html>maintenance</html>', {'Content-Type': 'text/html'}),
                                              FakeResponse(200, 'OK', OK_JSON)])
    assert client.get_request('5eed0003-0000-4000-8000-000000000001')['Status'] == 3
    assert 'not JSON' in warnings[0]


def test_a_put_is_never_retried_by_the_client():
    client, dummy, sleeps = scripted_client([requests.exceptions.ConnectionError('reset')])
    with pytest.raises(CmTransientError):
        client.set_request_status('5eed0003-0000-4000-8000-000000000001', 'Completed')
    assert len(client.session.sent) == 1 and sleeps == []


@pytest.mark.parametrize('status_code', [500, 400, 403])
def test_500_and_4xx_are_not_retried(status_code):
    client, dummy, sleeps = scripted_client([FakeResponse(status_code, 'No', '{"Message": "no"}')])
    with pytest.raises(CmApiError):
        client.get_request('5eed0003-0000-4000-8000-000000000001')
    assert len(client.session.sent) == 1 and sleeps == []


def test_retries_zero_disables_retries():
    client, dummy, sleeps = scripted_client([requests.exceptions.ConnectionError('reset')], retries=0)
    with pytest.raises(CmTransientError) as caught:
        client.get_request('5eed0003-0000-4000-8000-000000000001')
    assert 'after' not in caught.value.message and sleeps == []


def test_tls_failures_are_not_retried_and_say_what_to_set():
    client, dummy, sleeps = scripted_client([
        requests.exceptions.SSLError('certificate verify failed: unable to get local issuer certificate'),
        requests.exceptions.SSLError("hostname '127.0.0.1' doesn't match 'cm.example.com'"),
    ])
    with pytest.raises(CmConnectionError) as untrusted:
        client.get_request('5eed0003-0000-4000-8000-000000000001')
    assert 'set ca_path' in untrusted.value.message
    with pytest.raises(CmConnectionError) as mismatch:
        client.get_request('5eed0003-0000-4000-8000-000000000001')
    assert 'not valid for the host name in url' in mismatch.value.message
    assert sleeps == []


def test_every_call_carries_verify_and_timeout():
    client, dummy, dummy = scripted_client([FakeResponse(204, 'No Content', '')], ca_path='/etc/pki/example-ca.pem', timeout=7)
    assert client.search_requests(status='Pending') == []
    method, url, kwargs = client.session.sent[0]
    assert (method, url) == ('GET', 'https://cm.example.com/CertificateManagement/api/v1.0/requests')
    assert kwargs['verify'] == '/etc/pki/example-ca.pem' and kwargs['params'] == {'status': 'Pending'}
    timeout = kwargs['timeout']
    assert timeout.limit == 7 and 6 < timeout.connect_timeout <= 7 and 6 < timeout.read_timeout <= 7


def test_every_leg_of_an_exchange_waits_no_longer_than_what_is_left_of_its_deadline(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(_client.time, 'monotonic', lambda: now[0])
    timeout = _client._DeadlineTimeout(1000.0 + 10, 4)
    assert (timeout.connect_timeout, timeout.read_timeout) == (4, 4)  # a leg never waits longer than timeout
    now[0] += 8  # the login's first legs took 8 of the 10 seconds
    leg = timeout.clone()  # what urllib3 does at the start of each leg
    assert (leg.connect_timeout, leg.read_timeout) == (2, 2) and leg.limit == 4
    now[0] += 5  # past the deadline: the next leg fails at once instead of waiting
    assert timeout.clone().read_timeout == _client._SHORTEST_WAIT


def test_validate_certs_false_and_http_each_warn_once():
    warnings = []
    CmClient('http://cm.example.com', 'EXAMPLE\\user', 'pw', validate_certs=False, warn=warnings.append)
    assert len(warnings) == 2
    assert 'validate_certs is false' in warnings[0] and 'ca_path' in warnings[0]
    assert 'url uses http://' in warnings[1]


# --- hostile servers (issue 12) ---------------------------------------------------------------------

REQUEST_ID = '5eed0003-0000-4000-8000-000000000001'


@pytest.mark.parametrize('url, expected', [
    ('https://cm.example.com\r\nX-Injected: 1', 'a carriage return (\\r) at position 23'),
    ('https://cm.example.com/\n', 'a line feed (\\n) at position 24'),
    ('https://cm.example.com/Certificate Management', 'url must not contain whitespace: it has a space at position 35'),
    ('https://cm.example.com/\u00a0', 'the character U+00A0'),
    ('https://cm.example.com\t', 'a tab'),
    ('https://@cm.example.com', 'url must not contain credentials'),
    ('https://t0ken@cm.example.com', 'url must not contain credentials'),
])
def test_api_base_url_refuses_control_characters_whitespace_and_userinfo_without_echoing(url, expected):
    with pytest.raises(CmInputError) as caught:
        api_base_url(url)
    assert expected in caught.value.message
    assert 'cm.example.com' not in caught.value.message


@pytest.mark.parametrize('options, expected', [
    (dict(timeout=0), 'timeout must be a number of seconds greater than 0, not 0'),
    (dict(timeout=-5), 'not -5'),
    (dict(retry_delay=0.0), 'retry_delay must be a number of seconds greater than 0'),
    (dict(retry_delay=-1.0), 'retry_delay'),
    (dict(retries=-1), 'retries must be 0 (no retry) or more, not -1'),
    (dict(timeout=True), 'timeout must be'),
])
def test_numbers_are_checked_before_any_traffic(options, expected):
    with pytest.raises(CmInputError) as caught:
        CmClient('https://cm.example.com', 'EXAMPLE\\user', 'pw', **options)
    assert expected in caught.value.message


def test_from_params_keeps_the_values_given_and_fills_one_default():
    params = dict(url='https://cm.example.com', username='EXAMPLE\\user', password='pw', timeout=7, retries=0, retry_delay=0.5)
    client = CmClient.from_params(params)
    assert (client.timeout, client.retry.retries, client.retry.delay) == (7, 0, 0.5)
    assert CmClient.from_params(dict(url='https://cm.example.com', username='u', password='p')).timeout == _client.DEFAULT_TIMEOUT
    with pytest.raises(CmInputError):
        CmClient.from_params(dict(params, timeout=0))


@pytest.mark.parametrize('code', [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failure_naming_the_location_and_never_followed(code):
    client, warnings, sleeps = scripted_client([FakeResponse(code, 'Moved', '<html>moved</html>', {'Location': 'https://evil.example.net/x'})])
    with pytest.raises(CmApiError) as caught:
        client.get_request(REQUEST_ID)
    assert 'HTTP %d Moved, redirecting to https://evil.example.net/x' % code in caught.value.message
    assert "url is the CM server's own https:// address" in caught.value.message
    assert caught.value.status_code == code and sleeps == [] and warnings == []
    assert client.session.sent[0][2]['allow_redirects'] is False and client.session.sent[0][2]['stream'] is True


def test_an_answer_announced_over_the_cap_is_not_read():
    response = FakeResponse(200, 'OK', '[]', {'Content-Length': str(_client.MAX_ANSWER_BYTES + 1)})
    client, dummy, sleeps = scripted_client([response])
    with pytest.raises(CmApiError) as caught:
        client.search_requests(status='Approved')
    assert 'the answer is larger than 128 MiB (it announced 134217729 bytes)' in caught.value.message
    assert response.closed and sleeps == []


def test_an_answer_growing_over_the_cap_is_cut(monkeypatch):
    monkeypatch.setattr(_client, 'MAX_ANSWER_BYTES', 1000)
    response = FakeResponse(200, 'OK', '', body=b'[' + b'"x",' * 1000 + b'"x"]')
    response.raw.piece = 100
    client, dummy, dummy = scripted_client([response])
    with pytest.raises(CmApiError) as caught:
        client.search_requests()
    assert 'more than 1000 bytes read' in caught.value.message and response.closed


class ClockedRaw(FakeRaw):
    """A body that arrives one byte per read, each read moving the client's clock on by a second."""

    def __init__(self, body, clock):
        super().__init__(body, piece=1)
        self.clock = clock

    def read1(self, amount, decode_content=True):
        self.clock[0] += 1.0
        return super().read1(amount, decode_content)


def test_a_trickling_answer_fails_at_the_deadline_as_a_transient_failure(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(_client.time, 'monotonic', lambda: clock[0])
    responses = []
    for dummy in range(2):
        response = FakeResponse(200, 'OK', OK_JSON)
        response.raw = ClockedRaw(OK_JSON.encode(), clock)
        responses.append(response)
    client, warnings, sleeps = scripted_client(responses, retries=1, timeout=5)
    with pytest.raises(CmTransientError) as caught:
        client.get_request(REQUEST_ID)
    assert caught.value.message.endswith('failed: no complete answer within 5 seconds (timeout option) (after 2 attempts)')
    assert all(response.closed for response in responses) and len(warnings) == 1


def test_a_put_whose_answer_trickles_is_not_sent_again(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(_client.time, 'monotonic', lambda: clock[0])
    response = FakeResponse(200, 'OK', OK_JSON)
    response.raw = ClockedRaw(OK_JSON.encode(), clock)
    client, dummy, dummy = scripted_client([response], timeout=5)
    with pytest.raises(CmTransientError):
        client.set_request_status(REQUEST_ID, 'Completed')
    assert len(client.session.sent) == 1


@pytest.mark.parametrize('body, problem', [
    ({'Uuid': '5eed0008-0000-4000-8000-000000000001', 'Status': 8}, "another request's object ('5eed0008-0000-4000-8000-000000000001')"),
    ({'Status': 3}, 'an object without a Uuid'),
    ({'Uuid': '', 'Status': 3}, 'an object without a Uuid'),
    ({'Uuid': REQUEST_ID, 'Status': None}, 'without a status number (Status: None)'),
    ({'Uuid': REQUEST_ID, 'Status': True}, 'without a status number (Status: True)'),
    ('api/v1.0/requests/x', 'str instead of a request object'),
])
def test_a_get_answered_with_something_else_than_the_request_fails_unretried(body, problem):
    client, warnings, sleeps = scripted_client([FakeResponse(200, 'OK', json.dumps(body))])
    with pytest.raises(CmApiError) as caught:
        client.get_request(REQUEST_ID)
    assert problem in caught.value.message and 'not trusted and nothing was changed' in caught.value.message
    assert sleeps == [] and warnings == []


def test_the_request_object_is_recognised_in_any_letter_case_and_with_braces():
    body = json.dumps({'Uuid': '{%s}' % REQUEST_ID.upper(), 'Status': 3})
    client, dummy, dummy = scripted_client([FakeResponse(200, 'OK', body)])
    assert client.get_request(REQUEST_ID)['Status'] == 3


def test_a_put_answered_with_another_request_is_an_unknown_outcome_for_the_caller_to_read():
    client, dummy, dummy = scripted_client([FakeResponse(200, 'OK', json.dumps({'Uuid': '5eed0008-0000-4000-8000-000000000001', 'Status': 8}))])
    with pytest.raises(CmTransientError) as caught:
        client.set_request_status(REQUEST_ID, 'Completed')
    assert "another request's object" in caught.value.reason and len(client.session.sent) == 1


@pytest.mark.parametrize('text, problem', [
    ('{"Uuid": "x", "Status": 3, "Status": 8}', 'the key "Status" appears twice in one object'),
    ('[' * 5000 + ']' * 5000, 'nested more than 64 levels deep'),
    ('{"a": ' * 65 + '1' + '}' * 65, 'nested more than 64 levels deep'),
    (b'\xff\xfe{}', 'not UTF-8'),
    ('{"a": 1', 'Expecting'),
])
def test_hostile_json_is_malformed(text, problem):
    with pytest.raises(_client.MalformedJson) as caught:
        _client.parse_json(text.encode() if isinstance(text, str) else text)
    assert problem in str(caught.value)


def test_json_as_deep_as_allowed_and_brackets_inside_strings_are_fine():
    deepest = _client.parse_json(('[' * 64 + ']' * 64).encode())
    for dummy in range(63):
        deepest = deepest[0]
    assert deepest == []
    assert _client.parse_json(json.dumps({'a': '[[[[' * 100, 'b': '\\"[{'}).encode())['b'] == '\\"[{'


def test_an_html_404_is_the_api_missing_not_an_unknown_request_and_is_not_retried():
    client, warnings, sleeps = scripted_client([FakeResponse(404, 'Not Found', '<html><body>404</body></html>', {'Content-Type': 'text/html'})])
    with pytest.raises(CmApiError) as caught:
        client.get_request(REQUEST_ID)
    assert 'HTTP 404 Not Found. Hint: not found: check url' in caught.value.message
    assert sleeps == [] and warnings == []


def test_a_json_404_is_still_an_unknown_request():
    client, dummy, dummy = scripted_client([FakeResponse(404, 'Not Found', '{"Message": "The request could not be found."}')])
    assert client.get_request(REQUEST_ID) is None


def test_no_doubled_full_stop_before_the_hint():
    error = _client._api_error('PUT', API + '/requests/x', FakeResponse(403, 'Forbidden', '{"Message": "Access is denied."}'))
    assert 'Access is denied. Hint: permission denied' in error.message


def test_the_password_a_server_echoes_is_scrubbed_from_errors_and_warnings():
    password = 'pw"\\<&> '
    echo = FakeResponse(200, 'OK', 'bad password %s!' % password, {'Content-Type': 'text/plain'})
    refusal = FakeResponse(500, 'Internal Server Error', json.dumps({'Message': 'bad password %s.' % password.strip()}))
    warnings, sleeps = [], []
    client = CmClient('https://cm.example.com', 'EXAMPLE\\user', password, warn=warnings.append, retries=1, retry_delay=0.1)
    client.retry._sleep = sleeps.append
    client.session = ScriptedSession([echo, refusal])
    with pytest.raises(CmApiError) as caught:
        client.get_request(REQUEST_ID)
    shown = ' '.join(warnings) + caught.value.message + json.dumps(caught.value.details)
    assert '********' in warnings[0] and '********' in caught.value.message
    for form in ('pw"\\<&>', repr(password)[1:-1].strip(), json.dumps(password)[1:-1].strip()):
        assert form not in shown
