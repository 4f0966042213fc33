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
      - Without control characters, whitespace or credentials (C(user:password@)); such a value fails before any
        network traffic.
      - A redirect from the server is never followed (the CM REST API does not redirect); it fails naming where it
        pointed.
      - If not set, the value of the E(MIM_CM_URL) environment variable is used.
    type: str
    required: true
  username:
    description:
      - The account to log in as, V(DOMAIN\\user) or V(user@domain).
      - Required with O(auth=ntlm).
      - With O(auth=kerberos) or O(auth=negotiate), the Kerberos principal, V(user@REALM) (the realm is the Active Directory
        domain in capitals, for example V(svc-ansible@EXAMPLE.COM)). With O(password), the module gets a ticket of its own, in
        memory. Without O(password), it uses this principal's ticket from the ticket cache. Not set at all, it uses the
        ticket cache as C(kinit) left it (E(KRB5CCNAME), or the default cache of C(krb5.conf)).
      - If not set, the value of the E(MIM_CM_USERNAME) environment variable is used.
    type: str
  password:
    description:
      - The account's password. It never appears in results, warnings or error messages.
      - Required with O(auth=ntlm). With O(auth=kerberos) or O(auth=negotiate), leave it unset to use the ticket cache
        instead; no ticket cache file is read or written when it is set.
      - If not set, the value of the E(MIM_CM_PASSWORD) environment variable is used.
    type: str
  auth:
    description:
      - How to authenticate (IIS Windows Integrated Authentication).
      - V(ntlm) logs in with NTLM (the Python library C(requests-ntlm)).
      - V(kerberos) logs in with Kerberos through HTTP Negotiate, and never with NTLM. The server must offer
        C(Negotiate), and the KDC must know the server's service principal name (see O(kerberos_service) and
        O(kerberos_hostname)). The server's mutual authentication token is checked.
      - V(negotiate) uses HTTP Negotiate (SPNEGO) with Kerberos where it works and falls back to NTLM inside it where
        the server allows (the NTLM fallback needs O(username) and O(password)). A login that ends up with NTLM shows
        a warning saying why Kerberos was not used.
      - V(kerberos) and V(negotiate) need the Python libraries C(gssapi) and C(krb5) (C(pip install pyspnego[kerberos]))
        and a Kerberos configuration (C(krb5.conf)) on the host that runs the module; without them the task fails
        saying what to install.
      - Every method sends channel bindings over HTTPS (Extended Protection for Authentication).
      - If not set, the value of the E(MIM_CM_AUTH) environment variable is used.
    type: str
    default: ntlm
    choices: [ntlm, negotiate, kerberos]
  kerberos_service:
    description:
      - The service part of the server's Kerberos service principal name (SPN), C(<service>/<host>), with
        O(auth=kerberos) or O(auth=negotiate).
      - The default, V(HTTP), is what IIS uses; change it only when the CM web site's SPN was registered otherwise.
      - Ignored with O(auth=ntlm) (a value other than V(HTTP) shows a warning).
      - If not set, the value of the E(MIM_CM_KERBEROS_SERVICE) environment variable is used.
    type: str
    default: HTTP
  kerberos_hostname:
    description:
      - The host part of the server's Kerberos service principal name (SPN), with O(auth=kerberos) or O(auth=negotiate).
      - The default is the host name of O(url). Set it when the SPN was registered for another name than the one
        O(url) uses, for example when O(url) names a DNS alias or an IP address, or a load balancer's name whose SPN is
        registered for the CM servers' shared account under another name.
      - The module passes the name as given; MIT Kerberos may still replace a DNS alias by its canonical name, as
        C(dns_canonicalize_hostname) in C(krb5.conf) says.
      - Ignored, with a warning, with O(auth=ntlm).
      - If not set, the value of the E(MIM_CM_KERBEROS_HOSTNAME) environment variable is used.
    type: str
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
      - Seconds one API call may take in all - connecting, logging in and reading the whole answer. A server that
        sends its answer too slowly fails the call within it, as a failure that may pass (see O(retries)).
      - Must be greater than 0.
      - An answer may be at most 128 MiB (a search of 50,000 requests is about 55 MB); a larger one fails.
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
      - V(0) or more.
      - If not set, the value of the E(MIM_CM_RETRIES) environment variable is used.
    type: int
    default: 3
  retry_delay:
    description:
      - Seconds to wait before the first retry; each later retry waits twice as long (plus up to O(retry_delay) of random
        jitter, and at most 30 seconds). A C(Retry-After) header from the server is honoured instead, up to 60 seconds.
      - Must be greater than 0.
      - If not set, the value of the E(MIM_CM_RETRY_DELAY) environment variable is used.
    type: float
    default: 1.0
requirements:
  - requests
  - requests-ntlm
  - gssapi and krb5 (pip install pyspnego[kerberos]), only for auth=kerberos and auth=negotiate
'''
