# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""Find requests by what they are for: request type, profile template, target user, originator.

The API filters a search only by status and `targetuser=current`, so the module asks for what the API can
filter and applies the rest to what comes back. Everything the user wrote is checked before any traffic;
template names are the one thing that needs the server, resolved before any search by the same function
cm_request uses (_submit.resolve_profile_template).
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, List, NamedTuple, Optional, Tuple

from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError
from ansible_collections.mim.cm.plugins.module_utils._purpose import REQUEST_TYPES
from ansible_collections.mim.cm.plugins.module_utils._request_model import REQUEST_TYPE_NAMES, normalize_guid

# The documented numbers by the module's type names: enroll -> 1, unblock -> 5. No other number is invented.
_DOCUMENTED_CODES = dict((name.lower(), code) for code, name in REQUEST_TYPE_NAMES.items())
_TYPE_OPTION_BY_API_NAME = dict((api_name.lower(), option) for option, api_name in REQUEST_TYPES.items())

CURRENT_USER = 'current'


class RequestFilter(NamedTuple):
    """What a found request must be for; None means "any"."""

    type_codes: Optional[FrozenSet[int]]
    profile_templates: Optional[FrozenSet[str]]  # lower-case GUIDs
    target_user: Optional[str]                   # lower-case GUID; `current` is the API's own filter, not this one
    originator: Optional[str]                    # lower-case GUID

    def matches(self, facts: Dict[str, Any]) -> bool:
        if self.type_codes is not None and facts.get('request_type_code') not in self.type_codes:
            return False
        if self.profile_templates is not None and facts.get('profile_template_uuid') not in self.profile_templates:
            return False
        if self.target_user is not None and facts.get('target_user_uuid') != self.target_user:
            return False
        if self.originator is not None and facts.get('originator_user_uuid') != self.originator:
            return False
        return True

    def select(self, requests: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        return [facts for facts in requests if self.matches(facts)]


def type_codes(request_type: Optional[List[str]], request_type_code: Optional[List[int]]) -> Optional[FrozenSet[int]]:
    """The type numbers a request may carry: those of the names (documented ones only) and the numbers given.

    A name whose number the API does not document (renew, revoke, ...) is refused: its number differs between
    servers, and guessing would select the wrong requests. The number is in `request_type_code` of any request
    of that type, and request_type_code takes it.
    """
    if request_type is None and request_type_code is None:
        return None
    codes = set()
    undocumented = []
    for name in request_type or []:
        code = _DOCUMENTED_CODES.get(REQUEST_TYPES.get(name, name).lower())
        if code is None:
            undocumented.append(name)
        else:
            codes.add(code)
    if undocumented:
        documented = ' and '.join(sorted(_TYPE_OPTION_BY_API_NAME.get(name.lower(), name) for name in REQUEST_TYPE_NAMES.values()))
        raise CmInputError(
            'request_type %s: the API documents the numbers of %s requests only, and MIM CM servers number the other '
            'types differently. Give the number your server uses in request_type_code instead (request_type_code of '
            'any request of that type shows it); nothing was sent'
            % (', '.join(undocumented), documented))
    for code in request_type_code or []:
        if isinstance(code, bool) or not isinstance(code, int) or code < 0:
            raise CmInputError('request_type_code %r is not a request type number (a whole number, 0 or more); nothing was sent' % (code,))
        codes.add(code)
    return frozenset(codes)


def target_user(value: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
    """(what the API's ?targetuser= gets, the GUID the module filters on): `current` is the API's; a GUID is ours."""
    if value is None:
        return None, None
    if value.strip().lower() == CURRENT_USER:
        return CURRENT_USER, None
    try:
        return None, normalize_guid(value, 'target_user')
    except CmInputError:
        raise CmInputError("target_user %r is neither 'current' nor a user's GUID (the AD objectGUID, 8-4-4-4-12 "
                           "hexadecimal digits); nothing was sent" % (value,))


def guid_or_none(value: Optional[str], option_name: str) -> Optional[str]:
    return None if value is None else normalize_guid(value, option_name)


def split_templates(values: Optional[List[str]]) -> Tuple[List[str], List[str]]:
    """The profile_template values as (GUIDs, lower case; names, to resolve on the server). No traffic."""
    guids = []
    names = []
    for value in values or []:
        if not isinstance(value, str) or not value.strip():
            raise CmInputError('profile_template %r is empty: give a profile template GUID or name; nothing was sent' % (value,))
        try:
            guids.append(normalize_guid(value, 'profile_template'))
        except CmInputError:
            names.append(value.strip())
    return guids, names
