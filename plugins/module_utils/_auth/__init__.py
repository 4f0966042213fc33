# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""How mim.cm logs in to the CM server (IIS Windows Integrated Authentication).

- method.py       the choice of the login method from the auth option, its option checks, and new_auth(),
                  the one factory the client asks for its auth;
- negotiate.py    the HTTP Negotiate handshake (Kerberos, or Kerberos with NTLM fallback) on pyspnego;
                  NTLM itself is requests-ntlm's HttpNtlmAuth;
- diagnostics.py  what a failed Kerberos or Negotiate login means and what to do, as sentences.
"""
