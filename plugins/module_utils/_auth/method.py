# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""The choice of the login method from the auth option, and its option checks: new_auth(), the one factory.

It raises CmInputError before any traffic for options that cannot work, and returns a ClientAuth: the
requests auth object the session sends with, and how to explain a final 401 after it.
"""

from __future__ import annotations

import traceback
from typing import Any, Callable, NamedTuple, Optional, Tuple

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mim.cm.plugins.module_utils._auth import negotiate
from ansible_collections.mim.cm.plugins.module_utils._auth.diagnostics import explain_401
from ansible_collections.mim.cm.plugins.module_utils._auth.negotiate import (
    DEFAULT_KERBEROS_SERVICE,
    KERBEROS_METHODS,
    HttpNegotiateAuth,
    offered_schemes,
)
from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError

try:
    from requests_ntlm import HttpNtlmAuth
except ImportError:
    HAS_REQUESTS_NTLM = False
    REQUESTS_NTLM_IMPORT_ERROR = traceback.format_exc()  # type: Optional[str]
else:
    HAS_REQUESTS_NTLM = True
    REQUESTS_NTLM_IMPORT_ERROR = None

AUTH_METHODS = ('ntlm',) + KERBEROS_METHODS

KERBEROS_INSTALL_HINT = (
    'Install them for that Python: pip install "pyspnego[kerberos]" (gssapi and krb5 build from source: first install '
    'a C compiler, the Python headers and the Kerberos development files, for example apt-get install gcc python3-dev '
    'libkrb5-dev krb5-user on Debian or Ubuntu, dnf install gcc python3-devel krb5-devel krb5-workstation on RHEL or '
    'Fedora; in an execution environment, list them in bindep.txt and requirements.txt). Or use auth=ntlm.'
)

Warn = Callable[[str], Any]


class ClientAuth(NamedTuple):
    """What the client needs of a login method: the requests auth object, and the hint for a final 401 (None: the default)."""

    handler: Any
    explain_401: Callable[[Any], Optional[str]]


def new_auth(auth: str, username: Optional[str], password: Optional[str], url_host: Optional[str],
             kerberos_service: Optional[str] = None, kerberos_hostname: Optional[str] = None,
             warn: Optional[Warn] = None) -> ClientAuth:
    """The login for the auth option: the one place that chooses it. Raises CmInputError before any traffic."""
    warn = warn or (lambda message: None)
    if auth not in AUTH_METHODS:
        raise CmInputError('auth %r is not supported; use one of %s' % (auth, ', '.join(AUTH_METHODS)))
    if auth == 'ntlm':
        return ClientAuth(_ntlm(username, password, kerberos_service, kerberos_hostname, warn), lambda response: None)
    handler = _negotiate(auth, username, password, url_host, kerberos_service, kerberos_hostname, warn)
    return ClientAuth(handler, lambda response: _explain_negotiate(handler, response))


def _ntlm(username: Optional[str], password: Optional[str], kerberos_service: Optional[str],
          kerberos_hostname: Optional[str], warn: Warn) -> Any:
    if not username or not password:
        raise CmInputError('username and password are required for auth=ntlm '
                           '(options username/password or MIM_CM_USERNAME/MIM_CM_PASSWORD)')
    if (kerberos_service or DEFAULT_KERBEROS_SERVICE) != DEFAULT_KERBEROS_SERVICE or kerberos_hostname:
        warn('kerberos_service and kerberos_hostname only apply to auth=negotiate and auth=kerberos; auth=ntlm ignores them')
    return HttpNtlmAuth(username, password)


def _negotiate(auth: str, username: Optional[str], password: Optional[str], url_host: Optional[str],
               kerberos_service: Optional[str], kerberos_hostname: Optional[str], warn: Warn) -> HttpNegotiateAuth:
    missing = kerberos_missing(auth)
    if missing:
        raise CmInputError(missing[0], exception=missing[1])
    if password and not username:
        raise CmInputError('password needs username for auth=%s: the principal to get a ticket for, as user@REALM '
                           '(or give neither, to use the ticket cache kinit filled)' % auth)
    if auth == 'kerberos' and username and '\\' in username:
        raise CmInputError('username %r is a DOMAIN\\user name, which Kerberos does not know: for auth=kerberos write it as '
                           'user@REALM, for example svc-ansible@EXAMPLE.COM (the realm is the AD domain in capitals)' % username)
    for option, value in (('kerberos_service', kerberos_service), ('kerberos_hostname', kerberos_hostname)):
        if value is not None and (not value.strip() or '/' in value or '@' in value or any(char.isspace() for char in value)):
            raise CmInputError('%s %r is not valid: give the %s part of the SPN alone (the SPN is kerberos_service/'
                               'kerberos_hostname, e.g. HTTP/cm.example.com)' % (option, value, option.split('_')[1]))
    return HttpNegotiateAuth(auth, username, password, service=kerberos_service or DEFAULT_KERBEROS_SERVICE,
                             hostname=kerberos_hostname or url_host, warn=warn)


def _explain_negotiate(handler: HttpNegotiateAuth, response: Any) -> Optional[str]:
    """For a final 401: what the handshake saw (was Negotiate offered?) and what to do."""
    if response.status_code != 401:
        return None
    if handler.state.offered is None:  # the hook did not see this 401 (no handshake ran): read its offer here
        handler.state.offered = offered_schemes(response)
    return explain_401(handler.state, handler.protocol, handler.username, handler.spn)


def kerberos_missing(auth: str) -> Optional[Tuple[str, Optional[str]]]:
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
    if not negotiate.HAS_SPNEGO:
        missing.insert(0, 'pyspnego')
        import_error = negotiate.SPNEGO_IMPORT_ERROR
    if not missing:
        return None
    message = missing_required_lib(' and '.join(missing), reason='for auth=%s (Kerberos)' % auth)
    return '%s. %s' % (message.rstrip('.'), KERBEROS_INSTALL_HINT), import_error
