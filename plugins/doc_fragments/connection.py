# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):
    """The connection options of every mim.cm module; the argument spec is CONNECTION_ARGUMENT_SPEC in module_utils/_client.py."""

    DOCUMENTATION = r'''
options:
  url:
    description:
      - The MIM CM server, for example V(https://cm.example.com).
      - A trailing C(/CertificateManagement) or the full API path C(/CertificateManagement/api/v1.0) is accepted and not doubled.
      - If not set, the value of the E(MIM_CM_URL) environment variable is used.
    type: str
    required: true
  username:
    description:
      - The account to log in as, V(DOMAIN\\user) or V(user@domain).
      - If not set, the value of the E(MIM_CM_USERNAME) environment variable is used.
    type: str
  password:
    description:
      - The account's password. It never appears in results, warnings or error messages.
      - If not set, the value of the E(MIM_CM_PASSWORD) environment variable is used.
    type: str
  auth:
    description:
      - How to authenticate. V(ntlm) is Windows Integrated Authentication with NTLM (the Python library C(requests-ntlm)),
        with channel binding over HTTPS.
      - If not set, the value of the E(MIM_CM_AUTH) environment variable is used.
    type: str
    default: ntlm
    choices: [ntlm]
  validate_certs:
    description:
      - Verify the server's TLS certificate and host name.
      - Set to V(false) only for testing; prefer O(ca_path) for a private CA.
      - If not set, the value of the E(MIM_CM_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of CA certificates to trust instead of the default store, for a server whose certificate a private CA issued.
      - If not set, the value of the E(MIM_CM_CA_PATH) environment variable is used.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP call to the server.
    type: int
    default: 30
  retries:
    description:
      - How many times to try a call again after a failure that may pass - a dropped connection, a timeout,
        or HTTP 429, 502, 503 or 504 - before giving up. V(0) disables retries.
      - Reads are simply sent again. A status change is never sent twice blindly - after a lost answer the module
        reads the request first, and sends the change again only if the request still needs it.
      - HTTP 500 and the other 4xx answers are not retried - the server has decided.
      - Each retry shows as a warning that names the call and the reason.
      - If not set, the value of the E(MIM_CM_RETRIES) environment variable is used.
    type: int
    default: 3
  retry_delay:
    description:
      - Seconds to wait before the first retry; each later retry waits twice as long (plus up to O(retry_delay) of random
        jitter, and at most 30 seconds). A C(Retry-After) header from the server is honoured instead, up to 60 seconds.
      - If not set, the value of the E(MIM_CM_RETRY_DELAY) environment variable is used.
    type: float
    default: 1.0
requirements:
  - requests
  - requests-ntlm
'''
