# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""What a failed Kerberos or Negotiate login means, and what to do: pure functions of what the handshake saw.

The handshake (negotiate.py) records what it saw in a LoginState; this file turns that, and Kerberos' own
error texts, into sentences. Nothing here sends anything. No sentence ever holds the password: only
Kerberos' error texts, the principal and the service principal name (SPN).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import List, Optional, Tuple

# Where pyspnego's Negotiate tells (at debug level) why it could not use Kerberos before falling back to NTLM.
NEGOTIATE_LOGGER = 'spnego._negotiate'

# (pattern in a Kerberos error, what it means and what to do). %(principal)s and %(spn)s are filled in.
KERBEROS_ERRORS = (
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

# A KDC's refusal of the password itself (the first row of KERBEROS_ERRORS).
_PASSWORD_REFUSED = re.compile(KERBEROS_ERRORS[0][0], re.IGNORECASE)


class LoginState(object):
    """What the last handshake saw, for the explanation of a final 401."""

    def __init__(self) -> None:
        self.offered: Optional[List[str]] = None  # the schemes of the server's first 401, or None before any
        self.mechanism: Optional[str] = None  # 'kerberos' or 'ntlm' once the context knew it
        self.kerberos_failure: Optional[str] = None  # why Negotiate did not use Kerberos (pyspnego's words)


def kerberos_words(error: object) -> str:
    """The part of a pyspnego/gssapi/krb5 error text that says what went wrong: GSSAPI's minor message, without codes."""
    text = ' '.join(str(error).split())
    minor = re.search(r'Minor \(\d+\): (.+?)(?:, Context: [^,]*)?$', text)
    if minor and minor.group(1).strip() not in ('Success', 'Unknown error'):
        text = minor.group(1)
    return re.sub(r'\s+-?\d{6,}$', '', text).strip()


def describe_kerberos_error(error: object, principal: Optional[str], spn: str) -> str:
    """A sentence for a Kerberos failure: what it means and what to do, then Kerberos' own words."""
    full = ' '.join(str(error).split())
    words = kerberos_words(full)
    facts = dict(principal=principal or 'the ticket cache\'s principal', spn=spn, spn_short=spn.split('@', 1)[0])
    for pattern, meaning in KERBEROS_ERRORS:
        if re.search(pattern, full, re.IGNORECASE):
            return '%s (Kerberos said: %s)' % (meaning % facts, words)
    return 'Kerberos failed for %s and the service principal %s: %s' % (facts['principal'], spn, words)


def login_failure(protocol: str, error: object, principal: Optional[str], has_password: bool, spn: str,
                  fallback_reasons: List[str]) -> str:
    """The message for a login that could not start: Kerberos' reason (negotiate: why it could not use it either)."""
    if protocol == 'negotiate' and fallback_reasons:
        suffix = '; NTLM, the fallback, needs username and password' if not has_password else ''
        return 'Negotiate could not start: %s%s' % (describe_kerberos_error(fallback_reasons[-1], principal, spn), suffix)
    return 'Kerberos login failed: %s' % describe_kerberos_error(error, principal, spn)


def ntlm_fallback_warning(state: LoginState, principal: Optional[str], spn: str) -> str:
    """The warning for auth=negotiate that logged in with NTLM: why Kerberos was not used, and what to do."""
    reason = state.kerberos_failure
    return ('auth=negotiate logged in with NTLM, not Kerberos (%s). Fix Kerberos (see the kerberos guide), or '
            'set auth=ntlm to say NTLM is meant; auth=kerberos never falls back to NTLM.'
            % (describe_kerberos_error(reason, principal, spn) if reason else 'the server chose NTLM'))


def explain_401(state: LoginState, protocol: str, principal: Optional[str], spn: str) -> str:
    """What a final 401 means after a Negotiate login, and what to do (the client puts it in its message)."""
    if state.offered is not None and not [scheme for scheme in state.offered if scheme.lower() == 'negotiate']:
        offered = ', '.join(state.offered) or 'no scheme at all'
        return ('the server does not offer Negotiate (Kerberos): its WWW-Authenticate offers %s. auth=%s cannot log in '
                'there: use auth=ntlm if NTLM is allowed, or enable the Negotiate provider of Windows Authentication '
                'for the CM site in IIS' % (offered, protocol))
    who = principal or "the ticket cache's principal"
    if state.kerberos_failure and _PASSWORD_REFUSED.search(state.kerberos_failure):
        # Negotiate fell back to NTLM because the KDC refused the password; a server that then refuses NTLM
        # (mod_auth_gssapi takes no NTLM at all) says nothing more useful than the KDC did.
        return ('the password (or the account) of %s was refused: the KDC refused Kerberos pre-authentication, and '
                'the server refused the NTLM login Negotiate fell back to. Check password, and that the account is '
                'not locked, disabled or expired (Kerberos said: %s)' % (who, kerberos_words(state.kerberos_failure)))
    if state.mechanism == 'ntlm':
        because = ''
        if state.kerberos_failure:
            because = ' (Kerberos was not used: %s)' % describe_kerberos_error(state.kerberos_failure, principal, spn)
        return ('the server offered Negotiate and refused the NTLM login inside it%s: check username (DOMAIN\\user or '
                'user@domain) and password, or make Kerberos work' % because)
    return ('the server offered Negotiate and refused the Kerberos login of %s for %s: check that %s is the SPN of '
            'the CM web site\'s account (setspn -Q; kerberos_hostname and kerberos_service choose it), that the '
            'server\'s keytab or account password is current, and that no TLS-terminating proxy breaks the channel '
            'binding' % (who, spn, spn))


class _FallbackReasons(logging.Handler):
    """Collects what pyspnego's Negotiate says, at debug level, about Kerberos when it could not use it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.reasons: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # pyspnego logs ("Failed to create context for SPNEGO protocol %s: %s", protocol, str(error)): read the
        # record's arguments (the mechanism, then the error's text), not the wording of its message.
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) == 2 and args[0] == 'kerberos' and isinstance(args[1], str):
            self.reasons.append(args[1])


class CaptureFallback(object):
    """with CaptureFallback() as reasons: ... - pyspnego's reasons for not using Kerberos inside Negotiate.

    pyspnego says them at debug level only. While any capture is open (workers capture at once, hence the lock and
    the count), its logger is enabled for debug and, unless it was already, does not pass its records on: nothing
    that was silent before is printed by another handler.
    """

    _lock = threading.Lock()
    _open = 0
    _saved: Tuple[int, bool] = (logging.NOTSET, True)

    def __enter__(self) -> List[str]:
        logger = logging.getLogger(NEGOTIATE_LOGGER)
        self.handler = _FallbackReasons()
        with CaptureFallback._lock:
            if CaptureFallback._open == 0:
                CaptureFallback._saved = (logger.level, logger.propagate)
                if not logger.isEnabledFor(logging.DEBUG):
                    logger.setLevel(logging.DEBUG)
                    logger.propagate = False
            CaptureFallback._open += 1
            logger.addHandler(self.handler)
        return self.handler.reasons

    def __exit__(self, *exc_info: object) -> None:
        logger = logging.getLogger(NEGOTIATE_LOGGER)
        with CaptureFallback._lock:
            logger.removeHandler(self.handler)
            CaptureFallback._open -= 1
            if CaptureFallback._open == 0:
                logger.setLevel(CaptureFallback._saved[0])
                logger.propagate = CaptureFallback._saved[1]
