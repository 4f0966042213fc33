# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure parts of the Negotiate auth: what a final 401 means, and how pyspnego's reasons are read."""

from __future__ import annotations

import logging
import pathlib

import pytest

from ansible_collections.mim.cm.plugins.module_utils import _auth

SPN = 'HTTP/cm.example.com'
# What pyspnego 0.12 (gssapi) says when the KDC refuses the password during Negotiate's Kerberos attempt.
PREAUTH_FAILED = ('SpnegoError (1): Major (851968): Unspecified GSS failure.  Minor code may provide more information, '
                  'Minor (2529638936): Preauthentication failed, Context: Getting kerberos ticket with password')


def negotiate_state(offered, mechanism, kerberos_failure):
    auth = _auth.HttpNegotiateAuth('negotiate', 'cmadmin@EXAMPLE.COM', 'x')
    auth.state.offered = offered
    auth.state.mechanism = mechanism
    auth.state.kerberos_failure = kerberos_failure
    return auth


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
    with _auth._CaptureFallback() as reasons:  # pylint: disable=protected-access
        # Exactly as pyspnego logs it (spnego/_negotiate.py), and once reworded: both are read.
        logger.debug('Failed to create context for SPNEGO protocol %s: %s', 'kerberos', PREAUTH_FAILED)
        logger.debug('Could not build %s (%s)', 'kerberos', 'Ticket expired')
        logger.debug('Failed to create context for SPNEGO protocol %s: %s', 'ntlm', 'not this one')
        logger.debug('Attempting to create kerberos context when building SPNEGO mech list')
    assert reasons == [PREAUTH_FAILED, 'Ticket expired']
    assert not logger.handlers and not logger.isEnabledFor(logging.DEBUG), 'the logger is as it was'


def test_the_installed_pyspnego_logs_the_fallback_reasons_as_the_capture_reads_them():
    spnego = pytest.importorskip('spnego')
    source = (pathlib.Path(spnego.__file__).parent / '_negotiate.py').read_text()
    assert 'log.debug("Failed to create context for SPNEGO protocol %s: %s", protocol, str(e))' in source
