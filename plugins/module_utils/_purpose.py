# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""What a certificate request is *for*, and which existing request is "this request".

A playbook names a request by its purpose (type, target user, profile template, smart card) instead
of its GUID. The identity rule, the workflow policy checks and the POST body live here, as pure
functions over request facts (see _request_model.request_facts), so each rule is tested alone. The
rule and its sources are explained in docs/docsite/rst/architecture.rst ("Which request is this request").
"""

from __future__ import annotations

import datetime
from typing import Any, Dict, List, NamedTuple, Optional

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError
from ansible_collections.mim.cm.plugins.module_utils._request_model import REQUEST_TYPE_NAMES, STATUS_CODES
from ansible_collections.mim.cm.plugins.module_utils._submission_filter import UTC, parse_duration, parse_timestamp

# The module's `type` choices and the PascalCase name the POST body sends (cm-api: POST /requests `type`).
REQUEST_TYPES = {
    'enroll': 'Enroll',
    'renew': 'Renew',
    'revoke': 'Revoke',
    'retire': 'Retire',
    'unblock': 'Unblock',
    'duplicate': 'Duplicate',
    'online_update': 'OnlineUpdate',
    'offline_unblock': 'OfflineUnblock',
    'recover': 'Recover',
    'recover_on_behalf': 'RecoverOnBehalf',
    'reinstate': 'Reinstate',
    'temporary_cards': 'TemporaryCards',
}

# The numbers the API's own examples show (Enroll 1, Unblock 5); every other type's number is unknown.
DOCUMENTED_TYPE_CODES = dict((name, code) for code, name in REQUEST_TYPE_NAMES.items())

# A request in one of these statuses is being served: at most one per target user and template.
OPEN_STATUSES = ('Pending', 'Approved', 'Executing')
# Denied, Canceled and Failed requests do not count: a new request may be submitted for the purpose.
SERVED_STATUS = 'Completed'


class Purpose(NamedTuple):
    """What the request is for, from the module options, validated."""

    type_name: str                   # the API's name, e.g. Enroll
    type_code: Optional[int]         # its number: documented, or given as type_code; None when unknown
    target_user: Optional[str]       # lower-case GUID; None means the account that logs in
    profile_template: Optional[str]  # lower-case GUID (a name is resolved before this is built)
    smartcard: Optional[str]         # lower-case GUID
    data_collection: Dict[str, Optional[str]]
    comment: Optional[str]
    priority: Optional[int]
    completed_after: Optional[datetime.datetime]  # a Completed request counts only when completed at or after this

    def describe(self) -> str:
        """How messages name the purpose: Enroll for user <guid> with template <guid>."""
        text = '%s for %s' % (self.type_name, 'user %s' % self.target_user if self.target_user else 'the account that logs in')
        if self.profile_template:
            text += ' with profile template %s' % self.profile_template
        if self.smartcard:
            text += ' on smart card %s' % self.smartcard
        return text


def type_code_for(type_option: str, type_code: Optional[int]) -> Optional[int]:
    """The number requests of this type carry: the one the user gave, else the documented one, else None."""
    documented = DOCUMENTED_TYPE_CODES.get(REQUEST_TYPES[type_option])
    if type_code is not None:
        if type_code < 0:
            raise CmInputError('type_code must be a whole number >= 0, not %s' % type_code)
        if documented is not None and type_code != documented:
            raise CmInputError('type_code %s contradicts the documented number of %s requests (%s); leave type_code out'
                               % (type_code, REQUEST_TYPES[type_option], documented))
        return type_code
    return documented


def completed_after(completed_within: Optional[str], now: Optional[datetime.datetime] = None) -> Optional[datetime.datetime]:
    if completed_within is None:
        return None
    return (now or datetime.datetime.now(UTC)) - parse_duration(completed_within, 'completed_within')


# How one existing request relates to the purpose.
THIS_REQUEST = 'this'          # same purpose, and it counts (open, or Completed within the window)
MAYBE_THIS = 'maybe'           # would count, but its type number is unknown and so is the purpose's
OTHER_OPEN = 'other_open'      # an open request of a type known to differ, for the same user and template
UNRELATED = 'unrelated'


def _same_subject(purpose: Purpose, facts: Dict[str, Any]) -> bool:
    """Same target user and template; for a card-bound purpose given no template, same user and smart card."""
    if purpose.target_user and facts.get('target_user_uuid') != purpose.target_user:
        return False
    if purpose.profile_template:
        return facts.get('profile_template_uuid') == purpose.profile_template
    return purpose.smartcard in (facts.get('new_smartcard_uuid'), facts.get('old_smartcard_uuid'))


def _counts(purpose: Purpose, facts: Dict[str, Any]) -> bool:
    """Open, or Completed (within the window when there is one)."""
    if facts.get('status') in OPEN_STATUSES:
        return True
    if facts.get('status') != SERVED_STATUS:
        return False
    if purpose.completed_after is None:
        return True
    try:
        return parse_timestamp(facts.get('completed'), 'completed') >= purpose.completed_after
    except CmInputError:
        return False  # a Completed request without a readable completion time cannot prove it is recent


def relation(purpose: Purpose, facts: Dict[str, Any]) -> str:
    """How the request `facts` relates to `purpose`: THIS_REQUEST, MAYBE_THIS, OTHER_OPEN or UNRELATED."""
    if not _same_subject(purpose, facts) or not _counts(purpose, facts):
        return UNRELATED
    code = facts.get('request_type_code')
    if purpose.type_code is not None:
        same_type = code == purpose.type_code
    elif code in REQUEST_TYPE_NAMES:
        same_type = False  # a documented number that is not the purpose's type
    else:
        return MAYBE_THIS
    if same_type:
        return THIS_REQUEST
    return OTHER_OPEN if facts.get('status') in OPEN_STATUSES else UNRELATED


class Matches(NamedTuple):
    """The existing requests sorted by their relation to the purpose; each list newest first."""

    this_open: List[Dict[str, Any]]
    this_completed: List[Dict[str, Any]]
    maybe_open: List[Dict[str, Any]]
    maybe_completed: List[Dict[str, Any]]
    other_open: List[Dict[str, Any]]


def match(purpose: Purpose, requests: List[Dict[str, Any]]) -> Matches:
    """Sort `requests` (facts, each once) by how they relate to `purpose`."""
    found = Matches([], [], [], [], [])
    for facts in sorted(requests, key=lambda item: str(item.get('submitted') or ''), reverse=True):
        kind = relation(purpose, facts)
        is_open = facts.get('status') in OPEN_STATUSES
        if kind == THIS_REQUEST:
            (found.this_open if is_open else found.this_completed).append(facts)
        elif kind == MAYBE_THIS:
            (found.maybe_open if is_open else found.maybe_completed).append(facts)
        elif kind == OTHER_OPEN:
            found.other_open.append(facts)
    return found


def name_request(facts: Dict[str, Any]) -> str:
    """How messages name an existing request: its GUID, type and status."""
    kind = facts.get('request_type') or 'type number %s' % facts.get('request_type_code')
    return 'request %s (%s, %s)' % (facts.get('uuid'), kind, facts.get('status'))


# --- the workflow policy --------------------------------------------------------------------------

class PolicyCheck(NamedTuple):
    """What the template's workflow policy says about a submission."""

    problems: List[str]               # reasons to refuse the POST, nothing sent
    warnings: List[str]
    approvals_needed: Optional[int]   # None when the policy does not say


def _folded(mapping: Dict[str, Any]) -> Dict[str, Any]:
    return dict((str(key).lower(), value) for key, value in mapping.items())


def _policy_items(value: Any) -> Optional[Dict[str, bool]]:
    """{item name: required} from PolicyDataCollection, or None when its shape is not the one we can read."""
    if value is None:
        return {}
    if not isinstance(value, list):
        return None
    items = {}
    for raw in value:
        item = _folded(raw) if isinstance(raw, dict) else None
        if not item or not isinstance(item.get('name'), str):
            return None
        required = item.get('required', item.get('isrequired', False))
        if not isinstance(required, bool):
            return None
        items[item['name']] = required
    return items


def check_policy(policy: Optional[Dict[str, Any]], purpose: Purpose) -> PolicyCheck:
    """Refuse only what the policy clearly says; a shape we cannot read is a warning and the server decides."""
    if policy is None:
        return PolicyCheck([], ['the profile template has no workflow policy the API shows for %s requests: '
                                'the server decides whether to accept the request' % purpose.type_name], None)
    if not isinstance(policy, dict):
        return PolicyCheck([], ['the workflow policy for %s requests could not be read (a %s, not an object): '
                                'the server decides' % (purpose.type_name, type(policy).__name__)], None)
    fields = _folded(policy)
    problems = []
    warnings = []
    if fields.get('enabled') is False:
        problems.append('the profile template\'s workflow policy for %s requests is disabled' % purpose.type_name)
    items = _policy_items(fields.get('policydatacollection'))
    if items is None:
        warnings.append('the data-collection items of the workflow policy for %s requests could not be read: '
                        'data_collection is not checked, the server decides' % purpose.type_name)
    else:
        given = dict((name.lower(), name) for name in purpose.data_collection)
        listed = dict((name.lower(), name) for name in items)
        missing = sorted(name for name, required in items.items() if required and name.lower() not in given)
        unknown = sorted(name for lowered, name in given.items() if lowered not in listed)
        if missing:
            problems.append('data_collection lacks %s, which the workflow policy requires' % ', '.join(missing))
        if unknown:
            problems.append('data_collection has %s, which the workflow policy does not list (it lists: %s)'
                            % (', '.join(unknown), ', '.join(sorted(items)) or 'nothing'))
    if fields.get('collectcomments') is True and not purpose.comment:
        warnings.append('the workflow policy for %s requests collects comments and no comment is given: '
                        'the server decides whether one is needed' % purpose.type_name)
    approvals = fields.get('approvalsneeded')
    if isinstance(approvals, bool) or not isinstance(approvals, int):
        approvals = None
    return PolicyCheck(problems, warnings, approvals)


# --- the POST and what check mode predicts ----------------------------------------------------------

def post_body(purpose: Purpose) -> Dict[str, Any]:
    """The POST /requests body, with the documented lower-case keys; datacollection as an array of one-key objects."""
    body: Dict[str, Any] = {
        'profiletemplateuuid': purpose.profile_template,
        'datacollection': [{name: value} for name, value in purpose.data_collection.items()],
        'type': purpose.type_name,
    }
    if purpose.target_user:
        body['target'] = purpose.target_user
    if purpose.comment is not None:
        body['comment'] = purpose.comment
    if purpose.priority is not None:
        body['priority'] = purpose.priority
    if purpose.smartcard:
        body['smartcard'] = purpose.smartcard
    return body


def predicted_request(purpose: Purpose, approvals_needed: Optional[int]) -> Dict[str, Any]:
    """The facts check mode returns for a request it would submit: what is known before the server gives it a GUID."""
    status = 'Pending' if approvals_needed is None or approvals_needed > 0 else 'Approved'
    return {
        'uuid': None,
        'request_type': REQUEST_TYPE_NAMES.get(purpose.type_code) if purpose.type_code is not None else None,
        'request_type_code': purpose.type_code,
        'status': status,
        'status_code': STATUS_CODES[status],
        'target_user_uuid': purpose.target_user,
        'profile_template_uuid': purpose.profile_template,
        'data_collection': [{'name': name, 'value': value} for name, value in purpose.data_collection.items()],
        'comment': purpose.comment or '',
        'priority': purpose.priority or 0,
    }


def submission_diff(purpose: Purpose, facts: Dict[str, Any]) -> Dict[str, Any]:
    return {'before': {}, 'after': {'type': purpose.type_name, 'target_user': purpose.target_user or 'current',
                                    'status': facts.get('status')}}


def policy_facts(policy: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """A workflow policy as snake_case facts; `data_collection` as [{name, required}] when its shape is the one we read."""
    if not isinstance(policy, dict):
        return None
    facts = camel_dict_to_snake_dict(dict((key, value) for key, value in policy.items() if str(key).lower() != 'policydatacollection'))
    raw_items = _folded(policy).get('policydatacollection')
    items = _policy_items(raw_items)
    if items is None:
        facts['data_collection'] = raw_items  # as the server sent it: a shape this collection does not know
    else:
        facts['data_collection'] = [{'name': name, 'required': required} for name, required in items.items()]
    return facts
