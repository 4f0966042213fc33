# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.mim.cm.plugins.module_utils import _client
from ansible_collections.mim.cm.plugins.module_utils._client import CmClient, api_base_url, correlation_id
from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError

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
def test_verify_follows_validate_certs_and_ca_path(validate_certs, ca_path, expected):
    client = CmClient('https://cm.example.com', 'EXAMPLE\\user', 'pw', validate_certs=validate_certs, ca_path=ca_path)
    assert client.verify == expected


@pytest.mark.parametrize('username, password', [(None, 'pw'), ('EXAMPLE\\user', None), ('', '')])
def test_ntlm_needs_username_and_password(username, password):
    with pytest.raises(CmInputError) as caught:
        CmClient('https://cm.example.com', username, password)
    assert 'username and password are required' in caught.value.message


class FakeResponse(object):
    """What _api_error reads of a requests.Response."""

    def __init__(self, status_code, reason, text, headers=None):
        self.status_code = status_code
        self.reason = reason
        self.text = text
        self.content = text.encode()
        self.headers = headers or {}

    def json(self):
        import json
        return json.loads(self.text)


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
