# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""What every mim.cm module does around its own work, in the one order that keeps secrets safe.

1. mask every form of the passwords (before anything can warn or fail),
2. fail if a third-party library is missing,
3. open a client from the connection options and hand it to the module's work,
4. turn a CmError into fail_json with its message and details.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Set, TypeVar

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mim.cm.plugins.module_utils._client import CmClient, missing_libraries
from ansible_collections.mim.cm.plugins.module_utils._errors import CmError
from ansible_collections.mim.cm.plugins.module_utils._secrets import protect_secrets

Outcome = TypeVar('Outcome')
# The module's work: given the module's client and a maker of more clients (one per extra worker).
Work = Callable[[CmClient, Callable[[], CmClient]], Outcome]


def run_with_client(module: Any, work: Work[Outcome]) -> Outcome:
    """work(client, new_client) for an AnsibleModule; a CmError fails the module (fail_json does not return)."""
    protect_secrets(module)
    for library, import_error in missing_libraries():
        module.fail_json(msg=missing_required_lib(library), exception=import_error)

    warn = warn_once(module.warn)

    def new_client() -> CmClient:
        return CmClient.from_params(module.params, warn=warn)

    try:
        with new_client() as client:
            return work(client, new_client)
    except CmError as exc:
        module.fail_json(msg=exc.message, **exc.details)
        raise  # not reached: fail_json exits


def warn_once(warn: Callable[[str], Any]) -> Callable[[str], Any]:
    """`warn` for each distinct message once, from any thread: every worker's client warns what the first one did."""
    lock = threading.Lock()
    seen: Set[str] = set()

    def warn_new(message: str) -> None:
        with lock:
            if message not in seen:
                seen.add(message)
                warn(message)
    return warn_new
