# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""The HTTP Negotiate handshake: Kerberos (auth=kerberos), or Kerberos with NTLM fallback (auth=negotiate).

A requests AuthBase on pyspnego, modelled on requests-ntlm's flow: answer the server's 401 on the same
keep-alive connection (the first answer consumed and released, the body sent again with each leg), with
channel bindings from the server's certificate over TLS, and check the server's final token (Kerberos
mutual authentication) when it sends one. The login authenticates the connection, as on IIS.

The Kerberos libraries (gssapi and krb5, pyspnego's "kerberos" extra) are only imported when a client
asks for Kerberos, so the modules import and run NTLM without them. Failures become NegotiateAuthError
with a message from diagnostics.py that says what to do; the client adds the method and the API path.
"""

from __future__ import annotations

import base64
import traceback
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from ansible_collections.mim.cm.plugins.module_utils._auth.diagnostics import (
    CaptureFallback,
    LoginState,
    kerberos_words,
    login_failure,
    ntlm_fallback_warning,
)

try:
    import spnego
    import spnego.exceptions
    from spnego.channel_bindings import GssChannelBindings
except ImportError:
    HAS_SPNEGO = False
    SPNEGO_IMPORT_ERROR = traceback.format_exc()  # type: Optional[str]
else:
    HAS_SPNEGO = True
    SPNEGO_IMPORT_ERROR = None

try:
    from requests.auth import AuthBase
except ImportError:
    AuthBase = object  # type: ignore[assignment,misc]  # requests is missing: the client reports it before any auth object

KERBEROS_METHODS = ('negotiate', 'kerberos')
DEFAULT_KERBEROS_SERVICE = 'HTTP'


class NegotiateAuthError(Exception):
    """A Negotiate login could not be made or was not what the server should send; the message says what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _challenges(response: Any) -> List[Tuple[str, str]]:
    """[(scheme, the rest)] of every WWW-Authenticate challenge: 'Negotiate, NTLM' gives two, 'Negotiate abc==' one.

    A comma-separated piece whose first word holds '=' is an auth-param of the previous challenge (realm="x").
    """
    challenges = []
    for header in _www_authenticate(response):
        for part in header.split(','):
            words = part.strip().split(None, 1)
            if words and '=' not in words[0]:
                challenges.append((words[0], words[1].strip() if len(words) > 1 else ''))
    return challenges


def offered_schemes(response: Any) -> List[str]:
    """The authentication schemes a 401 offers, in order, each once: ['Negotiate', 'NTLM'] (empty when none)."""
    schemes: List[str] = []
    for scheme, dummy in _challenges(response):
        if scheme.lower() not in [known.lower() for known in schemes]:
            schemes.append(scheme)
    return schemes


def negotiate_token(response: Any) -> Optional[bytes]:
    """The server's Negotiate token (bytes) in WWW-Authenticate, or None when it sent none."""
    for scheme, rest in _challenges(response):
        if scheme.lower() == 'negotiate' and rest:
            try:
                return base64.b64decode(rest, validate=True)
            except (TypeError, ValueError):
                return None
    return None


def _www_authenticate(response: Any) -> List[str]:
    raw = getattr(response, 'raw', None)
    headers = getattr(raw, 'headers', None)
    if headers is not None and hasattr(headers, 'getlist'):
        values = headers.getlist('WWW-Authenticate')
        if values:
            return values
    value = response.headers.get('WWW-Authenticate')
    return [value] if value else []


def server_certificate_hash(response: Any) -> Optional[bytes]:
    """The tls-server-end-point hash (RFC 5929) of the certificate on the response's connection, or None over http."""
    try:
        sock = response.raw._fp.fp.raw._sock  # pylint: disable=protected-access
        der = sock.getpeercert(True)
    except AttributeError:
        return None
    if not der:
        return None
    # pyspnego already depends on cryptography.
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.exceptions import UnsupportedAlgorithm  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes  # pylint: disable=import-outside-toplevel

    certificate = x509.load_der_x509_certificate(der)
    try:
        algorithm = certificate.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return None
    if algorithm is None or algorithm.name in ('md5', 'sha1'):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(der)
    return digest.finalize()


class HttpNegotiateAuth(AuthBase):
    """requests auth for HTTP Negotiate through pyspnego: protocol 'kerberos' (never NTLM) or 'negotiate'.

    No username and password: the Kerberos ticket cache (KRB5CCNAME, as kinit left it). A username without a
    password: that principal's ticket in the cache. Both: a ticket of its own, in memory (no cache file is touched).
    """

    MAX_LEGS = 5

    def __init__(self, protocol: str, username: Optional[str] = None, password: Optional[str] = None,
                 service: str = DEFAULT_KERBEROS_SERVICE, hostname: Optional[str] = None, send_cbt: bool = True,
                 warn: Optional[Callable[[str], Any]] = None):
        if protocol not in KERBEROS_METHODS:
            raise ValueError('protocol must be one of %s' % ', '.join(KERBEROS_METHODS))
        self.protocol = protocol
        self.username = username or None
        self.password = password or None
        self.service = service or DEFAULT_KERBEROS_SERVICE
        self.hostname = hostname or None
        self.send_cbt = send_cbt
        self.warn = warn or (lambda message: None)
        self.state = LoginState()

    # --- requests' side --------------------------------------------------------------------------

    def __call__(self, request: Any) -> Any:
        # The login authenticates the connection: keep it.
        request.headers['Connection'] = 'Keep-Alive'
        request.register_hook('response', self.response_hook)
        return request

    def response_hook(self, response: Any, **kwargs: Any) -> Any:
        """Answer a 401 that offers Negotiate with a login on the same connection; leave every other answer alone."""
        if response.status_code != 401 or 'Authorization' in response.request.headers:
            return response
        self.state = LoginState()
        self.state.offered = offered_schemes(response)
        if 'negotiate' not in [scheme.lower() for scheme in self.state.offered]:
            return response  # the client explains: the server does not offer Negotiate
        return self._login(response, kwargs)

    def _login(self, response: Any, send_kwargs: Dict[str, Any]) -> Any:
        host = self.hostname or _url_host(response.url) or ''  # requests only sends to URLs with a host
        spn = '%s/%s' % (self.service, host)
        bindings = None
        if self.send_cbt:
            certificate_hash = server_certificate_hash(response)
            if certificate_hash:
                bindings = GssChannelBindings(application_data=b'tls-server-end-point:' + certificate_hash)

        history = [response]
        _release(response)
        request = response.request.copy()
        _rewind_body(request)

        with CaptureFallback() as fallback_reasons:
            try:
                context = spnego.client(self.username, self.password, hostname=host, service=self.service,
                                        channel_bindings=bindings, protocol=self.protocol)
                token = context.step()
            except Exception as error:  # pylint: disable=broad-exception-caught
                # pyspnego, gssapi and krb5 raise their own types; all that matters is the text.
                raise NegotiateAuthError(self._failure(error, spn, fallback_reasons))
            self.state.mechanism = context.negotiated_protocol
            if fallback_reasons:
                self.state.kerberos_failure = fallback_reasons[-1]

        for dummy in range(self.MAX_LEGS):
            request.headers['Authorization'] = 'Negotiate %s' % base64.b64encode(token or b'').decode('ascii')
            answer = response.connection.send(request, **send_kwargs)
            answer.history = list(history)
            server_token = negotiate_token(answer)
            if answer.status_code != 401:
                self._finish(context, server_token, spn)
                return answer
            if not server_token or context.complete:
                return answer  # refused: the client explains the 401
            history.append(answer)
            _release(answer)
            request = answer.request.copy()
            _rewind_body(request)
            if answer.headers.get('set-cookie'):
                request.headers['Cookie'] = answer.headers.get('set-cookie')
            try:
                token = context.step(server_token)
            except Exception as error:  # pylint: disable=broad-exception-caught
                raise NegotiateAuthError(self._failure(error, spn, []))
            self.state.mechanism = context.negotiated_protocol or self.state.mechanism
        raise NegotiateAuthError('the Negotiate handshake did not end after %d legs' % self.MAX_LEGS)

    def _finish(self, context: Any, server_token: Optional[bytes], spn: str) -> None:
        """The server accepted: check its final token (mutual authentication) when it sent one; note the mechanism."""
        if server_token and not context.complete:
            try:
                context.step(server_token)
            except Exception as error:  # pylint: disable=broad-exception-caught
                raise NegotiateAuthError(
                    'the server accepted the login but its final Negotiate token (mutual authentication) is not valid, so '
                    'it did not prove to be %s: %s. Check that url reaches the CM server itself, not a proxy that '
                    'authenticates in its place' % (spn, kerberos_words(error)))
        self.state.mechanism = context.negotiated_protocol or self.state.mechanism
        if self.protocol == 'negotiate' and self.state.mechanism == 'ntlm':
            self.warn(ntlm_fallback_warning(self.state, self.username, spn))

    def _failure(self, error: Exception, spn: str, fallback_reasons: List[str]) -> str:
        """The message for a login that could not start (diagnostics.py words it)."""
        if isinstance(error, NegotiateAuthError):
            return error.message
        return login_failure(self.protocol, error, self.username, bool(self.password), spn, fallback_reasons)

    @property
    def spn(self) -> str:
        """The service principal name the login asks a ticket for, as messages show it."""
        return '%s/%s' % (self.service, self.hostname)


def _url_host(url: str) -> Optional[str]:
    return urlsplit(url).hostname


def _release(response: Any) -> None:
    """Read the answer and give its connection back to the pool, so the next leg goes out on the same one."""
    response.content  # pylint: disable=pointless-statement  # noqa: B018 - read it all: the connection is free only then
    response.raw.release_conn()


def _rewind_body(request: Any) -> None:
    """A file-like body goes back to its start before it is sent again (bytes bodies need nothing)."""
    body = request.body
    if body is not None and hasattr(body, 'seek'):
        content_length = int(request.headers.get('Content-Length', '0') or 0)
        if content_length > 0:
            body.seek(-content_length, 1)
        else:
            body.seek(0, 0)
