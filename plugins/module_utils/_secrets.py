# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""Keep the password (and a password written into url) out of everything a module prints.

Ansible masks a no_log value only where it appears verbatim, and ansible-core 2.19 does not mask
module.warn() at all. A server may echo the password inside JSON (escaped), HTML (entities), a URL
(percent-encoded) or a Python repr, or trimmed: each such form is masked too. protect_secrets() is
the one call a module makes, right after AnsibleModule(): it adds every form to the values Ansible
masks in the result (msg, details, invocation at -vvvv) and makes module.warn() scrub its message.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any, Callable, Iterable, List, Optional, Set
from urllib.parse import quote, quote_plus, unquote

MASK = '********'  # what Ansible's own no_log masking writes

# The userinfo of an http(s) URL: scheme://<userinfo>@host...
_USERINFO_RE = re.compile(r'^\s*[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)@')


def url_password(url: Optional[str]) -> Optional[str]:
    """The secret written into url's userinfo (user:secret@host; a lone token@host counts as a secret), or None."""
    match = _USERINFO_RE.match(url or '')
    if not match:
        return None
    userinfo = match.group(1)
    secret = userinfo.split(':', 1)[1] if ':' in userinfo else userinfo
    return secret or None


def secret_forms(secret: Optional[str]) -> Set[str]:
    """The secret as a server or a message may show it: verbatim, trimmed, JSON, repr, HTML and URL encoded."""
    if not secret:
        return set()
    forms = {secret, secret.strip(), unquote(secret)}
    # Two rounds: a server may escape the secret once (JSON in its answer), a message once more (repr of that text).
    for dummy in range(2):
        for form in list(forms):
            forms.update(_encoded(form))
    return set(form for form in forms if form)


def _encoded(text: str) -> Set[str]:
    return {
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
        repr(text)[1:-1],
        html.escape(text),
        html.escape(text, quote=False),
        quote(text, safe=''),
        quote_plus(text),
    }


class Scrubber(object):
    """scrub(text): text with every form of every secret replaced by ********, longest forms first."""

    def __init__(self, secrets: Iterable[Optional[str]]):
        forms = set()  # type: Set[str]
        for secret in secrets:
            forms.update(secret_forms(secret))
        self.forms = sorted(forms, key=len, reverse=True)  # type: List[str]

    def scrub(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        for form in self.forms:
            text = text.replace(form, MASK)
        return text


def module_secrets(params: dict) -> List[Optional[str]]:
    """The secrets among a module's connection options: the password and url's password."""
    return [params.get('password'), url_password(params.get('url'))]


def protect_secrets(module: Any) -> Scrubber:
    """Mask every form of the module's secrets in its result and its warnings; call it right after AnsibleModule()."""
    scrubber = Scrubber(module_secrets(module.params))
    module.no_log_values.update(scrubber.forms)
    module.warn = scrubbed(module.warn, scrubber)
    return scrubber


def scrubbed(warn: Callable[[str], Any], scrubber: Scrubber) -> Callable[[str], Any]:
    """`warn` that scrubs its message first."""

    def warn_scrubbed(message: str) -> Any:
        return warn(scrubber.scrub(message))
    return warn_scrubbed
