# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""HTTP Negotiate for the client: Kerberos (auth=kerberos), or Kerberos with NTLM fallback (auth=negotiate).

A requests AuthBase on pyspnego, modelled on requests-ntlm's flow: answer the server's 401 on the same
keep-alive connection (the first answer consumed and released, the body sent again with each leg), with
channel bindings from the server's certificate over TLS, and check the server's final token (Kerberos
mutual authentication) when it sends one. The login authenticates the connection, as on IIS.

The Kerberos libraries (gssapi and krb5, pyspnego's "kerberos" extra) are only imported when a client
asks for Kerberos, so the modules import and run NTLM without them. Failures become NegotiateAuthError
with a message that says what to do; the client adds the method and the API path. No message ever holds
the password: only Kerberos' own error texts, the principal and the service principal name.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
import traceback
from urllib.parse import urlsplit

from ansible.module_utils.basic import missing_required_lib

try:
    import spnego
    import spnego.exceptions
    from spnego.channel_bindings import GssChannelBindings
except ImportError:
    HAS_SPNEGO = False
    SPNEGO_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_SPNEGO = True
    SPNEGO_IMPORT_ERROR = None

try:
    from requests.auth import AuthBase
except ImportError:
    AuthBase = object  # requests is missing: the client reports it before any auth object is made

AUTH_METHODS = ('ntlm', 'negotiate', 'kerberos')
KERBEROS_METHODS = ('negotiate', 'kerberos')
DEFAULT_KERBEROS_SERVICE = 'HTTP'

# Where pyspnego's Negotiate tells (at debug level) why it could not use Kerberos before falling back to NTLM.
_NEGOTIATE_LOGGER = 'spnego._negotiate'

KERBEROS_INSTALL_HINT = (
    'Install them for that Python: pip install "pyspnego[kerberos]" (gssapi and krb5 build from source: first install '
    'a C compiler, the Python headers and the Kerberos development files, for example apt-get install gcc python3-dev '
    'libkrb5-dev krb5-user on Debian or Ubuntu, dnf install gcc python3-devel krb5-devel krb5-workstation on RHEL or '
    'Fedora; in an execution environment, list them in bindep.txt and requirements.txt). Or use auth=ntlm.'
)

# (pattern in a Kerberos error, what it means and what to do). %(principal)s and %(spn)s are filled in.
_KERBEROS_ERRORS = (
    (r'Preauthentication failed|Password incorrect|Decrypt integrity check failed',
     'the KDC refused the password of %(principal)s: check password (and that the account is not locked)'),
    (r"Client '?.+'? not found in Kerberos database",
     'the KDC does not know the principal %(principal)s: write username as user@REALM, the realm in capitals '
     '(a DOMAIN\\user name is for NTLM)'),
    (r"Server '?.+'? not found in Kerberos database",
     'the KDC has no service principal %(spn)s: set kerberos_hostname (and kerberos_service) to the SPN registered '
     'for the CM web site (setspn -Q %(spn_short)s), for example when url uses an alias or an IP address'),
    (r"Can't find client principal \S+ in cache collection",
     'the ticket cache holds no ticket for %(principal)s: run kinit %(principal)s (KRB5CCNAME naming the cache the module '
     'reads), or set password so the module gets its own ticket'),
    (r'Ticket expired|Credentials? (?:have|has) expired',
     'the Kerberos ticket has expired: run kinit again, or set username and password so the module gets its own'),
    (r'No Kerberos credentials available|No credentials cache found|No credentials were supplied|'
     r'Credentials cache .*not found|No such file or directory',
     'no Kerberos ticket: run kinit user@REALM first (and check KRB5CCNAME names that cache), or set username and '
     'password so the module gets its own ticket'),
    (r'Cannot find KDC|Cannot contact any KDC|Cannot resolve network address|unable to reach any KDC',
     'no KDC answered for the realm: check the realm\'s kdc entries in krb5.conf (KRB5_CONFIG), or its DNS SRV '
     'records, and that this host reaches the KDC on port 88'),
    (r'Clock skew too great',
     'the clocks of this host, the KDC and the CM server differ by more than Kerberos allows (5 minutes): '
     'synchronize them (NTP)'),
    (r'default realm|Cannot find realm|Configuration file does not specify',
     'krb5.conf (KRB5_CONFIG) does not say which realm %(principal)s is in: write username as user@REALM, or set '
     'default_realm'),
    (r'encryption type|enctype',
     'the KDC and this host share no encryption type: check permitted_enctypes in krb5.conf and the account\'s '
     'Kerberos encryption types (AES)'),
)


# A KDC's refusal of the password itself (the first row of _KERBEROS_ERRORS).
_PASSWORD_REFUSED = re.compile(_KERBEROS_ERRORS[0][0], re.IGNORECASE)


class NegotiateAuthError(Exception):
    """A Negotiate login could not be made or was not what the server should send; the message says what to do."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def kerberos_missing(auth):
    """(message, traceback) when auth needs Kerberos and gssapi or krb5 cannot be imported; None otherwise.

    The message is ansible-core's missing_required_lib text, then what to install.
    """
    if auth not in KERBEROS_METHODS:
        return None
    missing = []
    import_error = None
    for name in ('gssapi', 'krb5'):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
            import_error = traceback.format_exc()
    if not HAS_SPNEGO:
        missing.insert(0, 'pyspnego')
        import_error = SPNEGO_IMPORT_ERROR
    if not missing:
        return None
    message = missing_required_lib(' and '.join(missing), reason='for auth=%s (Kerberos)' % auth)
    return '%s. %s' % (message.rstrip('.'), KERBEROS_INSTALL_HINT), import_error


def _challenges(response):
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


def offered_schemes(response):
    """The authentication schemes a 401 offers, in order, each once: ['Negotiate', 'NTLM'] (empty when none)."""
    schemes = []
    for scheme, dummy in _challenges(response):
        if scheme.lower() not in [known.lower() for known in schemes]:
            schemes.append(scheme)
    return schemes


def negotiate_token(response):
    """The server's Negotiate token (bytes) in WWW-Authenticate, or None when it sent none."""
    for scheme, rest in _challenges(response):
        if scheme.lower() == 'negotiate' and rest:
            try:
                return base64.b64decode(rest, validate=True)
            except (TypeError, ValueError):
                return None
    return None


def _www_authenticate(response):
    raw = getattr(response, 'raw', None)
    headers = getattr(raw, 'headers', None)
    if headers is not None and hasattr(headers, 'getlist'):
        values = headers.getlist('WWW-Authenticate')
        if values:
            return values
    value = response.headers.get('WWW-Authenticate')
    return [value] if value else []


def kerberos_words(error):
    """The part of a pyspnego/gssapi/krb5 error text that says what went wrong: GSSAPI's minor message, without codes."""
    text = ' '.join(str(error).split())
    minor = re.search(r'Minor \(\d+\): (.+?)(?:, Context: [^,]*)?$', text)
    if minor and minor.group(1).strip() not in ('Success', 'Unknown error'):
        text = minor.group(1)
    return re.sub(r'\s+-?\d{6,}$', '', text).strip()


def describe_kerberos_error(error, principal, spn):
    """A sentence for a Kerberos failure: what it means and what to do, then Kerberos' own words."""
    full = ' '.join(str(error).split())
    words = kerberos_words(full)
    facts = dict(principal=principal or 'the ticket cache\'s principal', spn=spn, spn_short=spn.split('@', 1)[0])
    for pattern, meaning in _KERBEROS_ERRORS:
        if re.search(pattern, full, re.IGNORECASE):
            return '%s (Kerberos said: %s)' % (meaning % facts, words)
    return 'Kerberos failed for %s and the service principal %s: %s' % (facts['principal'], spn, words)


def server_certificate_hash(response):
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


class _FallbackReasons(logging.Handler):
    """Collects what pyspnego's Negotiate says, at debug level, about Kerberos when it could not use it."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.reasons = []

    def emit(self, record):
        # pyspnego logs ("Failed to create context for SPNEGO protocol %s: %s", protocol, str(error)): read the
        # record's arguments (the mechanism, then the error's text), not the wording of its message.
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) == 2 and args[0] == 'kerberos' and isinstance(args[1], str):
            self.reasons.append(args[1])


class _CaptureFallback(object):
    """with _CaptureFallback() as reasons: ... - pyspnego's reasons for not using Kerberos inside Negotiate.

    pyspnego says them at debug level only. While any capture is open (workers capture at once, hence the lock and
    the count), its logger is enabled for debug and, unless it was already, does not pass its records on: nothing
    that was silent before is printed by another handler.
    """

    _lock = threading.Lock()
    _open = 0
    _saved = None

    def __enter__(self):
        logger = logging.getLogger(_NEGOTIATE_LOGGER)
        self.handler = _FallbackReasons()
        with _CaptureFallback._lock:
            if _CaptureFallback._open == 0:
                _CaptureFallback._saved = (logger.level, logger.propagate)
                if not logger.isEnabledFor(logging.DEBUG):
                    logger.setLevel(logging.DEBUG)
                    logger.propagate = False
            _CaptureFallback._open += 1
            logger.addHandler(self.handler)
        return self.handler.reasons

    def __exit__(self, *exc_info):
        logger = logging.getLogger(_NEGOTIATE_LOGGER)
        with _CaptureFallback._lock:
            logger.removeHandler(self.handler)
            _CaptureFallback._open -= 1
            if _CaptureFallback._open == 0:
                logger.setLevel(_CaptureFallback._saved[0])
                logger.propagate = _CaptureFallback._saved[1]


class LoginState(object):
    """What the last handshake on this auth object saw, for the client's explanation of a final 401."""

    def __init__(self):
        self.offered = None  # the schemes of the server's first 401, or None before any
        self.mechanism = None  # 'kerberos' or 'ntlm' once the context knew it
        self.kerberos_failure = None  # why Negotiate did not use Kerberos (pyspnego's words)


class HttpNegotiateAuth(AuthBase):
    """requests auth for HTTP Negotiate through pyspnego: protocol 'kerberos' (never NTLM) or 'negotiate'.

    No username and password: the Kerberos ticket cache (KRB5CCNAME, as kinit left it). A username without a
    password: that principal's ticket in the cache. Both: a ticket of its own, in memory (no cache file is touched).
    """

    MAX_LEGS = 5

    def __init__(self, protocol, username=None, password=None, service=DEFAULT_KERBEROS_SERVICE, hostname=None,
                 send_cbt=True, warn=None):
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

    def __call__(self, request):
        # The login authenticates the connection: keep it.
        request.headers['Connection'] = 'Keep-Alive'
        request.register_hook('response', self.response_hook)
        return request

    def response_hook(self, response, **kwargs):
        """Answer a 401 that offers Negotiate with a login on the same connection; leave every other answer alone."""
        if response.status_code != 401 or 'Authorization' in response.request.headers:
            return response
        self.state = LoginState()
        self.state.offered = offered_schemes(response)
        if 'negotiate' not in [scheme.lower() for scheme in self.state.offered]:
            return response  # the client explains: the server does not offer Negotiate
        return self._login(response, kwargs)

    def _login(self, response, send_kwargs):
        host = self.hostname or _url_host(response.url)
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

        with _CaptureFallback() as fallback_reasons:
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

    def _finish(self, context, server_token, spn):
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
            reason = self.state.kerberos_failure
            self.warn('auth=negotiate logged in with NTLM, not Kerberos (%s). Fix Kerberos (see the kerberos guide), or '
                      'set auth=ntlm to say NTLM is meant; auth=kerberos never falls back to NTLM.'
                      % (describe_kerberos_error(reason, self.username, spn) if reason else 'the server chose NTLM'))

    def _failure(self, error, spn, fallback_reasons):
        """The message for a login that could not start: Kerberos' reason (negotiate: why it could not use it either)."""
        principal = self.username or None
        if isinstance(error, NegotiateAuthError):
            return error.message
        text = str(error)
        if self.protocol == 'negotiate' and fallback_reasons:
            text = fallback_reasons[-1]
            suffix = ('; NTLM, the fallback, needs username and password' if not self.password else '')
            return 'Negotiate could not start: %s%s' % (describe_kerberos_error(text, principal, spn), suffix)
        return 'Kerberos login failed: %s' % describe_kerberos_error(text, principal, spn)

    # --- the client's side --------------------------------------------------------------------------

    def explain_401(self, spn):
        """What a final 401 means after this auth's attempt, and what to do (the client puts it in its message)."""
        state = self.state
        if state.offered is not None and not [scheme for scheme in state.offered if scheme.lower() == 'negotiate']:
            offered = ', '.join(state.offered) or 'no scheme at all'
            return ('the server does not offer Negotiate (Kerberos): its WWW-Authenticate offers %s. auth=%s cannot log in '
                    'there: use auth=ntlm if NTLM is allowed, or enable the Negotiate provider of Windows Authentication '
                    'for the CM site in IIS' % (offered, self.protocol))
        who = self.username or "the ticket cache's principal"
        if state.kerberos_failure and _PASSWORD_REFUSED.search(state.kerberos_failure):
            # Negotiate fell back to NTLM because the KDC refused the password; a server that then refuses NTLM
            # (mod_auth_gssapi takes no NTLM at all) says nothing more useful than the KDC did.
            return ('the password (or the account) of %s was refused: the KDC refused Kerberos pre-authentication, and '
                    'the server refused the NTLM login Negotiate fell back to. Check password, and that the account is '
                    'not locked, disabled or expired (Kerberos said: %s)' % (who, kerberos_words(state.kerberos_failure)))
        if state.mechanism == 'ntlm':
            because = ''
            if state.kerberos_failure:
                because = ' (Kerberos was not used: %s)' % describe_kerberos_error(state.kerberos_failure, self.username, spn)
            return ('the server offered Negotiate and refused the NTLM login inside it%s: check username (DOMAIN\\user or '
                    'user@domain) and password, or make Kerberos work' % because)
        return ('the server offered Negotiate and refused the Kerberos login of %s for %s: check that %s is the SPN of '
                'the CM web site\'s account (setspn -Q; kerberos_hostname and kerberos_service choose it), that the '
                'server\'s keytab or account password is current, and that no TLS-terminating proxy breaks the channel '
                'binding' % (who, spn, spn))


def _url_host(url):
    return urlsplit(url).hostname


def _release(response):
    """Read the answer and give its connection back to the pool, so the next leg goes out on the same one."""
    response.content  # pylint: disable=pointless-statement
    response.raw.release_conn()


def _rewind_body(request):
    """A file-like body goes back to its start before it is sent again (bytes bodies need nothing)."""
    body = request.body
    if body is not None and hasattr(body, 'seek'):
        content_length = int(request.headers.get('Content-Length', '0') or 0)
        if content_length > 0:
            body.seek(-content_length, 1)
        else:
            body.seek(0, 0)
