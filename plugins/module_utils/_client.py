# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""The one HTTP client of mim.cm: a requests Session per module run, NTLM or Negotiate (Kerberos), TLS, timeouts, JSON.

Each call states which status codes it accepts; "not found" is data (None), anything else
unexpected is a CmApiError that names the method, the API path, the status code, the server's
message and its correlation ID. The password is handed to the auth handler and nowhere else.
The login is chosen in one place, _auth.method.new_auth(), from the auth option.
"""

from __future__ import annotations

import json
import re
import time
import traceback
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from ansible.module_utils.basic import env_fallback

from ansible_collections.mim.cm.plugins.module_utils._errors import (
    CmApiError,
    CmConnectionError,
    CmError,
    CmInputError,
    CmTransientError,
)
from ansible_collections.mim.cm.plugins.module_utils._auth.method import (
    AUTH_METHODS,
    DEFAULT_KERBEROS_SERVICE,
    HAS_REQUESTS_NTLM,
    REQUESTS_NTLM_IMPORT_ERROR,
    new_auth,
)
from ansible_collections.mim.cm.plugins.module_utils._auth.negotiate import NegotiateAuthError
from ansible_collections.mim.cm.plugins.module_utils._retry import (
    DEFAULT_RETRIES,
    DEFAULT_RETRY_DELAY,
    RetryPolicy,
    Settle,
    T,
    parse_retry_after,
)
from ansible_collections.mim.cm.plugins.module_utils._secrets import Scrubber

try:
    import requests
    import urllib3
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR: Optional[str] = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

E = TypeVar('E', bound=CmError)

API_ROOT = 'CertificateManagement'
API_VERSION_PATH = 'api/v1.0'

# Seconds one API call may take in all (connect, login, every read of the answer); the timeout option's default.
DEFAULT_TIMEOUT = 30
# The largest answer read, in bytes. A search's answer grows with the requests it returns: 50,000 requests
# measured 55 MB (about 1.1 KB each) from the emulator, so this allows searches of well over 100,000.
MAX_ANSWER_BYTES = 128 * 1024 * 1024
# JSON nested deeper than this is refused before parsing; the API's objects nest three levels.
MAX_JSON_DEPTH = 64

# The connection options every module shares; documented once in doc_fragments/connection.py.
CONNECTION_ARGUMENT_SPEC = dict(
    url=dict(type='str', required=True, fallback=(env_fallback, ['MIM_CM_URL'])),
    username=dict(type='str', fallback=(env_fallback, ['MIM_CM_USERNAME'])),
    password=dict(type='str', no_log=True, fallback=(env_fallback, ['MIM_CM_PASSWORD'])),
    auth=dict(type='str', default='ntlm', choices=list(AUTH_METHODS), fallback=(env_fallback, ['MIM_CM_AUTH'])),
    kerberos_service=dict(type='str', default=DEFAULT_KERBEROS_SERVICE, fallback=(env_fallback, ['MIM_CM_KERBEROS_SERVICE'])),
    kerberos_hostname=dict(type='str', fallback=(env_fallback, ['MIM_CM_KERBEROS_HOSTNAME'])),
    validate_certs=dict(type='bool', default=True, fallback=(env_fallback, ['MIM_CM_VALIDATE_CERTS'])),
    ca_path=dict(type='path', fallback=(env_fallback, ['MIM_CM_CA_PATH'])),
    timeout=dict(type='int', default=DEFAULT_TIMEOUT),
    retries=dict(type='int', default=DEFAULT_RETRIES, fallback=(env_fallback, ['MIM_CM_RETRIES'])),
    retry_delay=dict(type='float', default=DEFAULT_RETRY_DELAY, fallback=(env_fallback, ['MIM_CM_RETRY_DELAY'])),
)

_CORRELATION_ID_RE = re.compile(
    r'correlation\s*id\W{0,3}([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})',
    re.IGNORECASE,
)


def _check_numbers(timeout: Any, retries: Any, retry_delay: Any) -> None:
    """The numeric connection options, checked before any traffic: a zero or negative value is a mistake, not a default."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise CmInputError('timeout must be a number of seconds greater than 0, not %r' % (timeout,))
    if isinstance(retry_delay, bool) or not isinstance(retry_delay, (int, float)) or retry_delay <= 0:
        raise CmInputError('retry_delay must be a number of seconds greater than 0, not %r' % (retry_delay,))
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise CmInputError('retries must be 0 (no retry) or more, not %r' % (retries,))


def missing_libraries() -> List[Tuple[str, Optional[str]]]:
    """[(library name, import traceback)] for every third-party library the client cannot import."""
    missing: List[Tuple[str, Optional[str]]] = []
    if not HAS_REQUESTS:
        missing.append(('requests', REQUESTS_IMPORT_ERROR))
    if not HAS_REQUESTS_NTLM:
        missing.append(('requests-ntlm', REQUESTS_NTLM_IMPORT_ERROR))
    return missing


def api_base_url(url: Optional[str]) -> str:
    """The API's base URL (ending in /CertificateManagement/api/v1.0) from what the user wrote.

    Accepts the server root, the root with /CertificateManagement, or the full API path, in any
    letter case and with or without trailing slashes, and never doubles a part.
    """
    text = (url or '').strip(' ')
    # Checked on the text as written: urlsplit and requests would silently drop a line break or send a space.
    # These messages never echo url, which may hold a password.
    for position, char in enumerate(text):
        if ord(char) < 0x20 or ord(char) == 0x7f:
            raise CmInputError('url must not contain control characters: it has %s at position %d (a line break or a tab, '
                               'often from a YAML block scalar or a copied value)' % (_char_name(char), position + 1))
        if char.isspace():
            raise CmInputError('url must not contain whitespace: it has %s at position %d' % (_char_name(char), position + 1))
    parts = urlsplit(text)
    if '@' in parts.netloc:
        raise CmInputError('url must not contain credentials (user:password@ before the host name): set username and '
                           'password instead')
    if parts.scheme.lower() not in ('http', 'https') or not parts.hostname:
        shown = '' if '@' in text else ', not %r' % url  # a value with @ may hold a password
        raise CmInputError('url must be an http:// or https:// address such as https://cm.example.com%s' % shown)
    if parts.query or parts.fragment:
        raise CmInputError('url must not have a query (?...) or fragment (#...): %r' % url)

    segments = [segment for segment in parts.path.split('/') if segment]
    lowered = [segment.lower() for segment in segments]
    if lowered[-2:] == API_VERSION_PATH.split('/'):
        segments = segments[:-2]
        lowered = lowered[:-2]
    if not lowered or lowered[-1] != API_ROOT.lower():
        segments.append(API_ROOT)
    path = '/' + '/'.join(segments + API_VERSION_PATH.split('/'))
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, '', ''))


_REQUEST_URI_RE = re.compile(r'(?:^|/)requests/\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?/?$', re.IGNORECASE)


def request_id_from_uri(value):
    """The GUID (lower case) at the end of the URI a POST /requests answers with, "api/v1.0/requests/<guid>"
    (the prefix varies between servers and documentation pages), or None."""
    if not isinstance(value, str):
        return None
    match = _REQUEST_URI_RE.search(value.strip())
    return match.group(1).lower() if match else None


def _short_repr(value):
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + '...'


def _identity_problem(request_id: str, data: Any) -> Optional[str]:
    """Why `data` is not the request `request_id` with a status number (e.g. "the request <guid>"), or None when it is."""
    if not isinstance(data, dict):
        return '%s instead of a request object' % type(data).__name__
    uuid = data.get('Uuid')
    if not isinstance(uuid, str) or not uuid.strip():
        return 'an object without a Uuid'
    if uuid.strip().strip('{}').lower() != request_id.strip().strip('{}').lower():
        return 'another request\'s object (%s) instead of %s' % (_short_repr(uuid.strip()), request_id)
    status = data.get('Status')
    if isinstance(status, bool) or not isinstance(status, int):
        return 'request %s without a status number (Status: %s)' % (request_id, _short_repr(status))
    return None


def _char_name(char: str) -> str:
    return {'\n': 'a line feed (\\n)', '\r': 'a carriage return (\\r)', '\t': 'a tab (\\t)', ' ': 'a space'}.get(
        char, 'the character U+%04X' % ord(char))


def correlation_id(message: Optional[str]) -> Optional[str]:
    """The correlation ID a MIM CM error message carries, or None."""
    match = _CORRELATION_ID_RE.search(message or '')
    return match.group(1).lower() if match else None


def _hint(status_code: int) -> Optional[str]:
    if status_code == 401:
        return ('authentication failed: check username (DOMAIN\\user or user@domain) and password, '
                'and that the server offers NTLM')
    if status_code == 403:
        return ('permission denied: the account lacks the MIM CM permission this call needs on the request '
                '(some servers also answer 403 for a request that does not exist: check the GUID)')
    if status_code == 404:
        return ('not found: check url, and that the CM REST API is enabled on the server '
                '(Clm.WebApi.Enabled in the CM web.config)')
    return None


class CmClient(object):
    """One authenticated session with a MIM CM server, for one module run."""

    def __init__(self, url: str, username: Optional[str] = None, password: Optional[str] = None, auth: str = 'ntlm',
                 validate_certs: bool = True, ca_path: Optional[str] = None, timeout: int = DEFAULT_TIMEOUT,
                 retries: int = DEFAULT_RETRIES, retry_delay: float = DEFAULT_RETRY_DELAY,
                 warn: Optional[Callable[[str], Any]] = None, kerberos_service: Optional[str] = None,
                 kerberos_hostname: Optional[str] = None):
        self.base_url = api_base_url(url)
        self.base_path = urlsplit(self.base_url).path
        _check_numbers(timeout, retries, retry_delay)
        self.auth = auth
        self.username = username
        self.timeout = timeout
        # Warnings carry server text, which may echo the password; module.warn() does not mask it.
        self.scrubber = Scrubber([password])
        plain_warn = warn or (lambda message: None)
        self.warn = lambda message: plain_warn(self.scrubber.scrub(message))
        self.login = new_auth(auth, username, password, urlsplit(self.base_url).hostname, kerberos_service,
                              kerberos_hostname, self.warn)
        self.retry = RetryPolicy(retries, retry_delay, warn=self.warn)
        # Passed on every call: a per-call verify that is a path or False wins over REQUESTS_CA_BUNDLE,
        # which would silently replace a Session-level setting.
        self.verify = (ca_path or True) if validate_certs else False
        if not validate_certs:
            self.warn('validate_certs is false: the server certificate is not checked, so anyone on the network path '
                      'can pose as the CM server. Set ca_path to the CA bundle instead.')
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        if self.base_url.startswith('http:'):
            self.warn('url uses http://: %s messages and certificate request data go over an unencrypted connection '
                      'and cannot be bound to a TLS channel. Use https://.' % ('NTLM' if auth == 'ntlm' else 'Negotiate'))
        self.session = requests.Session()
        self.session.auth = self.login.handler
        self.session.headers.update({'Accept': 'application/json'})
        self._settle_environment()

    def _settle_environment(self) -> None:
        """Read the environment's proxies (HTTPS_PROXY, NO_PROXY) and CA bundle once, for the one server this client calls.

        requests would read them again on every call (about a fifth of the client's CPU time per request when a task
        makes thousands of calls); they cannot differ between calls to the same base URL.
        """
        settings = self.session.merge_environment_settings(self.base_url, {}, None, self.verify, None)
        self.session.trust_env = False
        self.session.proxies = settings['proxies']
        if settings['verify'] is not None:  # never None here: this client always passes True, False or a path
            self.verify = settings['verify']

    @classmethod
    def from_params(cls, params: Dict[str, Any], warn: Optional[Callable[[str], Any]] = None) -> CmClient:
        """A client from a module's parameters (CONNECTION_ARGUMENT_SPEC has filled in every default)."""
        return cls(
            url=params['url'],
            username=params.get('username'),
            password=params.get('password'),
            auth=params.get('auth') or 'ntlm',
            kerberos_service=params.get('kerberos_service'),
            kerberos_hostname=params.get('kerberos_hostname'),
            validate_certs=params.get('validate_certs', True),
            ca_path=params.get('ca_path'),
            timeout=params.get('timeout', DEFAULT_TIMEOUT),
            retries=params.get('retries', DEFAULT_RETRIES),
            retry_delay=params.get('retry_delay', DEFAULT_RETRY_DELAY),
            warn=warn,
        )

    def close(self):
        self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # --- the API calls -------------------------------------------------------------------------

    def get_request(self, request_id: str) -> Optional[Dict[str, Any]]:
        """The Request object with this GUID, or None when the server says it does not exist."""
        status_code, data = self._call('GET', 'requests/%s' % quote(request_id), expected=(200, 204, 404))
        if status_code != 200 or not data:
            return None
        problem = _identity_problem(request_id, data)
        if problem:
            # Not retried: a proxy that mixes answers up does it again. Nothing is changed on such an answer.
            path = self.api_path('requests/%s' % request_id)
            raise self._scrub(CmApiError(
                'GET %s answered 200 with %s, so the answer is not trusted and nothing was changed. Check that url reaches '
                'the CM server itself: a caching proxy or load balancer in front of it may mix answers up' % (path, problem),
                'GET', path, 200))
        return data

    def set_request_status(self, request_id: str, put_status: str) -> Optional[Dict[str, Any]]:
        """PUT a status change, once: the updated Request (200), or None when the server answers 204.

        Never retried here: after a CmTransientError the change may or may not have been applied,
        and only a fresh read of the request can tell (see _converge.py).
        """
        status_code, data = self._call('PUT', 'requests/%s' % quote(request_id), expected=(200, 204), body={'status': put_status})
        if status_code == 204 or not data:
            return None
        problem = _identity_problem(request_id, data)
        if problem:
            # The PUT may have been applied: like a lost answer, only a fresh read of the request can tell.
            path = self.api_path('requests/%s' % request_id)
            reason = 'HTTP 200 with %s' % problem
            raise self._scrub(CmTransientError('PUT %s failed: %s' % (path, reason), reason, 'PUT', path, status_code=200))
        return data

    def search_requests(self, status: Optional[str] = None, target_user: Optional[str] = None) -> List[Any]:
        """Requests matching the filters (a list; empty when the server answers 204)."""
        params = {}
        if status:
            params['status'] = status
        if target_user:
            params['targetuser'] = target_user
        return self._get_list('requests', params)

    def create_request(self, body):
        """POST a new request, once; return the new request's GUID (lower case) from the URI the server answers with.

        Never retried here: after a CmTransientError the request may or may not exist, and only a search
        for its purpose can tell (see _submit.py).
        """
        status_code, data = self._call('POST', 'requests', expected=(200, 201), body=body)
        request_id = request_id_from_uri(data)
        if request_id is None:
            raise CmApiError('POST %s answered %s with %s instead of the new request\'s URI (api/v1.0/requests/<guid>)'
                             % (self.api_path('requests'), status_code, _short_repr(data)), 'POST', self.api_path('requests'),
                             status_code)
        return request_id

    def list_profile_templates(self):
        """The profile templates the account can see (a list; empty when the server answers 204)."""
        return self._get_list('profiletemplates')

    def get_profile_template(self, template_id):
        """One profile template by GUID, or None when the server says it does not exist."""
        status_code, data = self._call('GET', 'profiletemplates/%s' % quote(template_id), expected=(200, 204, 404))
        return data if status_code == 200 and isinstance(data, dict) and data else None

    def get_workflow_policy(self, template_id, request_type):
        """The template's workflow policy for a request type (PascalCase name, e.g. Enroll), or None when there is none.

        The path is the one the API's examples use (/profiletemplates/{id}/policies/{type}); the reference page's
        /policy/workflow/{type} form is a documentation defect (docs/docsite/rst/architecture.rst).
        """
        api_path = 'profiletemplates/%s/policies/%s' % (quote(template_id), quote(request_type))
        status_code, data = self._call('GET', api_path, expected=(200, 204, 404))
        return data if status_code == 200 and data else None

    def _get_list(self, api_path, params=None):
        status_code, data = self._call('GET', api_path, expected=(200, 204), params=params)
        if status_code == 204 or data is None:
            return []
        if not isinstance(data, list):
            raise CmApiError('GET %s answered 200 with %s instead of a list' % (self.api_path(api_path), type(data).__name__),
                             'GET', self.api_path(api_path), 200)
        return data

    # --- one HTTP exchange ---------------------------------------------------------------------

    def api_path(self, api_path: str) -> str:
        """The URL path of an API call, as messages show it: /CertificateManagement/api/v1.0/<api_path>."""
        return '%s/%s' % (self.base_path, api_path)

    def _call(self, method: str, api_path: str, expected: Sequence[int], params: Optional[dict] = None,
              body: Any = None) -> Answer:
        """Send one API call; return its Answer. Raise for any code not in `expected`.

        GETs change nothing, so a transient failure is retried (RetryPolicy.run). Other methods raise it to the
        caller, who alone can tell whether the change was made. Every error leaves here scrubbed of the password,
        whatever the server echoed.
        """
        def exchange() -> Answer:
            return self._exchange(method, api_path, expected, params, body)
        try:
            if method == 'GET':
                return self.retrying('%s %s' % (method, self.api_path(api_path)), exchange)
            return exchange()
        except CmError as error:
            raise self._scrub(error)

    def retrying(self, call: str, attempt: Callable[[], T], settle: Optional[Settle] = None) -> T:
        """Run attempt() under this client's retry policy (retries, retry_delay): see RetryPolicy.run."""
        return self.retry.run(call, attempt, settle)

    def _scrub(self, error: E) -> E:
        error.message = self.scrubber.scrub(error.message)
        error.args = (error.message,)
        for key, value in error.details.items():
            error.details[key] = self.scrubber.scrub(value)
        for name in ('reason', 'server_message'):
            if isinstance(getattr(error, name, None), str):
                setattr(error, name, self.scrubber.scrub(getattr(error, name)))
        return error

    def _exchange(self, method: str, api_path: str, expected: Sequence[int], params: Optional[dict], body: Any) -> Answer:
        """One HTTP exchange within one deadline of `timeout` seconds: connect, login, and every read of the answer."""
        path = self.api_path(api_path)
        response = self._send(method, api_path, path, params, body)
        if not 200 <= response.status_code < 300:
            self._scrub_body(response)  # an error's body goes into messages: scrubbed before it is cut short
        if 300 <= response.status_code < 400:
            raise _redirect_error(method, path, response)
        if response.status_code in TRANSIENT_STATUS_CODES:
            raise _transient_status(method, path, response)
        if response.status_code not in expected or (response.status_code == 404 and _is_html(response)):
            # An HTML 404 is a web server's or a proxy's page, not the API's "no such request": the API is not there.
            raise _api_error(method, path, response, self.login.explain_401(response))
        try:
            return Answer(response.status_code, _json_body(method, path, response, response.content))
        except CmTransientError:
            self._scrub_body(response)
            return Answer(response.status_code, _json_body(method, path, response, response.content))

    def _send(self, method: str, api_path: str, path: str, params: Optional[dict], body: Any) -> Any:
        """The response, its body read within the deadline and the size cap; a CmError for anything else."""
        deadline = time.monotonic() + self.timeout
        try:
            # Redirects are never followed: the API does not redirect, and following one would hand the login
            # (NTLM answers any host's 401) and a PUT's body to whatever host the Location names.
            response = self.session.request(
                method,
                '%s/%s' % (self.base_url, api_path),
                params=params,
                json=body,
                verify=self.verify,
                # requests passes a urllib3 Timeout through as it is, to every leg of the login too.
                timeout=_DeadlineTimeout(deadline, self.timeout),
                allow_redirects=False,
                stream=True,
            )
            _read_answer(response, deadline, self.timeout)
        except _UnreadAnswer as exc:
            raise exc.error(method, path, self.timeout)
        except requests.exceptions.SSLError as exc:
            raise CmConnectionError(_tls_message(method, path, exc), method=method, api_path=path)
        except (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError) as exc:
            raise _transient(method, path, 'no answer within %s seconds (timeout option)' % self.timeout, exc)
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError, urllib3.exceptions.HTTPError) as exc:
            raise _transient(method, path, 'the connection failed', exc)
        except (PermissionError, NegotiateAuthError) as exc:
            raise _login_refused(method, path, exc)
        except requests.exceptions.RequestException as exc:
            raise CmConnectionError('%s %s failed: %s' % (method, path, _reason(exc)), method=method, api_path=path)
        return response

    def _scrub_body(self, response: Any) -> None:
        """Mask the password in an answer's body, before any message quotes (and cuts) a piece of it."""
        text = response.content.decode('utf-8', 'replace')
        scrubbed = self.scrubber.scrub(text)
        if scrubbed != text:
            response._content = scrubbed.encode('utf-8')  # pylint: disable=protected-access
            response.encoding = 'utf-8'


class Answer(NamedTuple):
    """One API call's answer: its HTTP status code and its parsed JSON (None for an empty body)."""

    status_code: int
    data: Any


# Answers that say "not now" rather than "no": a gateway or an overloaded server.
TRANSIENT_STATUS_CODES = (429, 502, 503, 504)


def _transient(method: str, path: str, what: str, exc: Exception) -> CmTransientError:
    reason = '%s: %s' % (what, _reason(exc))
    return CmTransientError('%s %s failed: %s' % (method, path, reason), reason, method, path)


def _tls_message(method: str, path: str, exc: Exception) -> str:
    reason = _reason(exc)
    if 'match' in reason.lower() or 'hostname' in reason.lower():
        return ('%s %s failed: the server certificate is not valid for the host name in url (%s). Use the name the '
                'certificate was issued for in url (not an IP address or an alias it does not list).' % (method, path, reason))
    return ('%s %s failed: the TLS connection could not be verified (%s). If the server uses a private CA, '
            'set ca_path to its CA bundle (PEM); validate_certs=false only for testing.' % (method, path, reason))


def _reason(exc: Exception) -> str:
    """A short reason from a requests exception: the innermost cause, without the request's URL repeated."""
    text = str(exc)
    for marker in ('Caused by ', "(Caused by "):
        if marker in text:
            text = text.split(marker, 1)[1].rstrip(')')
    return text


class _UnreadAnswer(Exception):
    """An answer the client stopped reading; error() is what the user sees."""

    def error(self, method: str, path: str, timeout: float) -> CmError:
        raise NotImplementedError


class _Overtime(_UnreadAnswer):
    """The answer did not come complete within the call's deadline: it may pass (a slow moment), so transient."""

    def error(self, method: str, path: str, timeout: float) -> CmError:
        reason = 'no complete answer within %s seconds (timeout option)' % timeout
        return CmTransientError('%s %s failed: %s' % (method, path, reason), reason, method, path)


class _TooLarge(_UnreadAnswer):
    """The answer is larger than MAX_ANSWER_BYTES: it would be again, so not transient."""

    def __init__(self, what: str, status_code: int):
        super().__init__(what)
        self.status_code = status_code

    def error(self, method: str, path: str, timeout: float) -> CmError:
        return CmApiError('%s %s failed: the answer is larger than %d MiB (%s), the most mim.cm reads. A search '
                          'returns every request of a status: narrow it, or check that url reaches the CM server'
                          % (method, path, MAX_ANSWER_BYTES // (1024 * 1024), self), method, path, self.status_code)


def _login_refused(method: str, path: str, exc: Exception) -> CmApiError:
    if isinstance(exc, NegotiateAuthError):
        # Kerberos could not log in (no ticket, the KDC refused, unknown SPN), or the server's final token is bad.
        return CmApiError('%s %s failed: HTTP 401 Unauthorized: %s.' % (method, path, exc.message.rstrip('.')), method, path, 401)
    # requests-ntlm raises PermissionError when the server does not answer the NTLM negotiation with a challenge.
    return CmApiError('%s %s failed: NTLM authentication was refused (%s).' % (method, path, exc), method, path, 401)


def _transient_status(method: str, path: str, response: Any) -> CmTransientError:
    retry_after = parse_retry_after(response.headers.get('Retry-After'))
    reason = 'HTTP %s %s' % (response.status_code, response.reason or '')
    if retry_after is not None:
        reason += ' (Retry-After: %g s)' % retry_after
    return CmTransientError('%s %s failed: %s' % (method, path, reason.strip()), reason.strip(), method, path,
                            status_code=response.status_code, retry_after=retry_after)


# Each read takes what has arrived, up to this many bytes, so a trickling answer meets the deadline between reads.
_READ_SIZE = 64 * 1024


def _read_answer(response: Any, deadline: float, timeout: float) -> None:
    """Read the whole body into response (as requests would), within the deadline and MAX_ANSWER_BYTES.

    Over either bound the connection is closed (it is out of step) and _Overtime or _TooLarge is raised.
    """
    declared = response.headers.get('Content-Length', '')
    if declared.strip().isdigit() and int(declared) > MAX_ANSWER_BYTES:
        response.close()
        raise _TooLarge('it announced %s bytes' % declared.strip(), response.status_code)
    raw = response.raw
    read = getattr(raw, 'read1', None) or raw.read  # read1 returns what has arrived instead of waiting for all
    chunks = []
    size = 0
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Overtime()
            _limit_next_read(raw, min(left, timeout))
            try:
                chunk = read(_READ_SIZE, decode_content=True)
            except urllib3.exceptions.TimeoutError:
                if left < timeout:  # the wait was cut short by the deadline, not by a silent server
                    raise _Overtime()
                raise
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise _TooLarge('more than %d bytes read' % MAX_ANSWER_BYTES, response.status_code)
            chunks.append(chunk)
    except (_UnreadAnswer, urllib3.exceptions.TimeoutError):
        response.close()
        raise
    if time.monotonic() > deadline:
        response.close()
        raise _Overtime()
    # What response.content, .text and .json() give from now on.
    response._content = b''.join(chunks)  # pylint: disable=protected-access
    response._content_consumed = True  # pylint: disable=protected-access


# urllib3 may be missing (the module then fails naming it, before any client is made): the class still has to load.
_TimeoutBase: Any = urllib3.Timeout if HAS_REQUESTS else object


class _DeadlineTimeout(_TimeoutBase):
    """The socket timeouts of every HTTP leg of one exchange, the login's 401 legs included, held to its deadline.

    urllib3 clones the timeout at the start of each leg (requests-ntlm and the Negotiate handshake pass it on to
    theirs), so each leg waits at most `timeout` and never past what is left of the one deadline.
    """

    def __init__(self, deadline: float, timeout: float):
        self.deadline = deadline
        self.limit = timeout
        left = max(deadline - time.monotonic(), _SHORTEST_WAIT)
        super().__init__(connect=min(timeout, left), read=min(timeout, left))

    def clone(self) -> _DeadlineTimeout:
        return _DeadlineTimeout(self.deadline, self.limit)


# urllib3 refuses a timeout of 0 or less: a leg that starts at the deadline waits this long, then fails.
_SHORTEST_WAIT = 0.001


def _limit_next_read(raw: Any, seconds: float) -> None:
    """The socket waits at most `seconds` for the next bytes (urllib3 sets its own timeout again on the next call)."""
    try:
        sock = raw._fp.fp.raw._sock  # pylint: disable=protected-access
    except AttributeError:
        return  # the body is already read or buffered: nothing waits
    sock.settimeout(seconds)


def _redirect_error(method: str, path: str, response: Any) -> CmApiError:
    location = response.headers.get('Location') or 'no Location header'
    if len(location) > 200:
        location = location[:197] + '...'
    message = ('%s %s failed: HTTP %s %s, redirecting to %s. mim.cm never follows a redirect (the CM REST API does not '
               'redirect, and following one would hand the login and the request to another host): check that url is '
               'the CM server\'s own https:// address, and that no proxy or load balancer in front of it redirects'
               % (method, path, response.status_code, response.reason or '', location))
    return CmApiError(message.replace(' ,', ','), method, path, response.status_code)


def _is_html(response: Any) -> bool:
    content_type = (response.headers.get('Content-Type') or '').lower()
    return 'html' in content_type or response.content.lstrip()[:1] == b'<'


class MalformedJson(ValueError):
    """A body that is not JSON, or JSON the client refuses (duplicate keys, absurd nesting)."""


_JSON_STRING_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS_RE = re.compile(r'[^\[\]{}]+')


def parse_json(content: Any) -> Any:
    """The JSON value of a body (bytes); MalformedJson for invalid JSON, a duplicate key, or nesting deeper than MAX_JSON_DEPTH.

    The depth is checked before parsing: Python's parser would raise RecursionError first. A duplicate key
    is refused because two parsers (or a proxy and the client) may keep different values for it.
    """
    try:
        text = content.decode('utf-8-sig') if isinstance(content, bytes) else content
    except UnicodeDecodeError as exc:
        raise MalformedJson('not UTF-8 (%s)' % exc.reason)
    if text.count('[') + text.count('{') > MAX_JSON_DEPTH:
        depth = deepest = 0
        for bracket in _NOT_BRACKETS_RE.sub('', _JSON_STRING_RE.sub('""', text)):
            depth += 1 if bracket in '[{' else -1
            deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            raise MalformedJson('nested more than %d levels deep' % MAX_JSON_DEPTH)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except MalformedJson:
        raise
    except ValueError as exc:
        raise MalformedJson(str(exc))


def _no_duplicate_keys(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    data = {}
    for key, value in pairs:
        if key in data:
            raise MalformedJson('the key %s appears twice in one object' % json.dumps(key)[:80])
        data[key] = value
    return data


def _json_body(method: str, path: str, response: Any, content: bytes) -> Any:
    """The parsed body; a 2xx whose body is not JSON (an HTML page, garbage, hostile JSON) is a transient failure."""
    if not content or not content.strip():
        return None
    try:
        return parse_json(content)
    except MalformedJson as exc:
        reason = 'HTTP %s with a body that is not JSON (%s; %s): %r' % (
            response.status_code, response.headers.get('Content-Type', 'no content type'), exc, response.text[:120])
        raise CmTransientError('%s %s failed: %s' % (method, path, reason), reason, method, path, status_code=response.status_code)


def _server_message(response: Any) -> Optional[str]:
    """The server's own message: `Message` (and `ExceptionMessage`) of an ASP.NET error, or the body's start."""
    try:
        data = parse_json(response.content or b'')
    except ValueError:
        text = (response.text or '').strip()
        if not text or text.lstrip().startswith('<'):
            return None
        return text[:300]
    if isinstance(data, dict):
        parts = [str(data[key]) for key in ('Message', 'ExceptionMessage', 'MessageDetail') if data.get(key)]
        return ' '.join(parts) or None
    if isinstance(data, str):
        return data
    return None


def _api_error(method: str, path: str, response: Any, auth_hint: Optional[str] = None) -> CmApiError:
    server_message = _server_message(response)
    corr_id = correlation_id(server_message)
    message = '%s %s failed: HTTP %s' % (method, path, response.status_code)
    if response.reason:
        message += ' %s' % response.reason
    if server_message:
        message += ': %s' % server_message
    if corr_id and corr_id not in message.lower():
        message += ' (correlation ID %s)' % corr_id
    hint = auth_hint or _hint(response.status_code)
    if hint:
        message = '%s. Hint: %s' % (message.rstrip().rstrip('.'), hint)  # the server's message may end with its own full stop
    return CmApiError(message, method, path, response.status_code, server_message=server_message, correlation_id=corr_id)
