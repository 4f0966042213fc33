# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""What a MIM CM request is: status numbers and names, which status changes make sense, and the facts a module returns.

Pure functions only: nothing here talks to the network, so every rule can be tested alone.
"""

from __future__ import annotations

import json
import re
from typing import Dict

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError

# RequestStatus numbers (FIM CM status codes; 3 and 8 are confirmed by the REST API examples).
STATUS_NAMES = {
    0: 'None',
    3: 'Approved',
    4: 'Denied',
    8: 'Completed',
    9: 'Failed',
    16: 'Pending',
    17: 'Canceled',
    18: 'Executing',
}
STATUS_CODES = dict((name, code) for code, name in STATUS_NAMES.items())

# Statuses a request never leaves: no PUT can change them.
TERMINAL_STATUSES = frozenset(['Completed', 'Canceled', 'Denied', 'Failed'])

# Only the numbers seen in the API's own examples; an unknown number keeps its number and gets no name.
REQUEST_TYPE_NAMES = {
    1: 'Enroll',
    5: 'Unblock',
}

# target (the module's `status` choice) -> (the value the PUT sends, the status the request ends in).
# Abandoning is an action, not a status: an abandoned request ends Failed.
TARGETS = {
    'completed': ('Completed', 'Completed'),
    'canceled': ('Canceled', 'Canceled'),
    'abandoned': ('Abandoned', 'Failed'),
}

# target -> the statuses from which the server makes the change (the PUT table of docs/docsite/rst/architecture.rst).
CHANGEABLE_FROM = {
    'completed': ('Approved', 'Executing'),
    'canceled': ('Pending', 'Approved', 'Executing'),
    'abandoned': ('Approved', 'Executing'),
}

EMPTY_GUID = '00000000-0000-0000-0000-000000000000'
NOT_COMPLETED_PREFIX = '0001-01-01'

_GUID_RE = re.compile(r'^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$')


def normalize_guid(value, option_name='id'):
    """Return the GUID in lower case, or raise CmInputError; `{...}` braces and surrounding blanks are accepted."""
    text = value.strip() if isinstance(value, str) else ''
    match = _GUID_RE.match(text)
    if not match or (text.startswith('{') != text.endswith('}')):
        raise CmInputError(
            "%s %r is not a GUID: expected 32 hexadecimal digits as 8-4-4-4-12, "
            "for example a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099" % (option_name, value)
        )
    return match.group(1).lower()


def fold_guids(values, option_name='ids'):
    """Validate every GUID of a list, then keep each request once (case does not matter), in first-seen order.

    All malformed values are named in one CmInputError, before anything is sent.
    """
    folded = []
    seen = set()
    malformed = []
    for position, value in enumerate(values, start=1):
        try:
            guid = normalize_guid(value, option_name)
        except CmInputError:
            malformed.append('item %d %r' % (position, value))
            continue
        if guid not in seen:
            seen.add(guid)
            folded.append(guid)
    if malformed:
        shown = ', '.join(malformed[:10]) + (' and %d more' % (len(malformed) - 10) if len(malformed) > 10 else '')
        raise CmInputError('%s holds %d value(s) that are not GUIDs (expected 8-4-4-4-12 hexadecimal digits): %s; nothing was sent'
                           % (option_name, len(malformed), shown))
    return folded


def status_name(code):
    """The name of a status number, or None for a number the API does not document."""
    return STATUS_NAMES.get(code)


def target_status(target):
    """The status a request ends in when it reaches `target` (completed, canceled, abandoned)."""
    return TARGETS[target][1]


def search_statuses(target):
    """The statuses worth a search when many requests must reach `target`: those it changes.

    Not the target itself: a server's Completed (or Canceled, Failed) requests only grow, and one search
    would return all of them. Requests already at the target are read one by one instead.
    """
    return CHANGEABLE_FROM[target]


def put_value(target):
    """The value of `status` in the PUT body that asks for `target`."""
    return TARGETS[target][0]


# The three things the module can do about one request.
NO_CHANGE = 'no_change'
CHANGE = 'change'
REFUSE = 'refuse'


def decide(current_code, target):
    """Decide what reaching `target` takes from the request's current status number.

    Returns (action, reason): NO_CHANGE when the request is already there, REFUSE (with the reason
    to show) when it is in another terminal status, CHANGE otherwise: the server has the last word.
    """
    current = status_name(current_code)
    if current == target_status(target):
        return NO_CHANGE, None
    if current in TERMINAL_STATUSES:
        return REFUSE, 'the request is %s and cannot become %s' % (current, target)
    return CHANGE, None


def lower_guids(facts):
    """The snake_case facts with every GUID (`uuid`, `*_uuid`) in lower case, so they compare equal to what users write."""
    for key, value in facts.items():
        if (key == 'uuid' or key.endswith('_uuid')) and isinstance(value, str):
            facts[key] = value.lower()
    return facts


def _data_collection(value):
    """The DataCollection as a list of {name, value}; the API sends a list, or a string holding JSON."""
    if value is None or value == '':
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [{'name': None, 'value': value}]
    if isinstance(value, dict):
        value = [value]
    items = []
    for item in value:
        if isinstance(item, dict) and ('Name' in item or 'name' in item):
            items.append({'name': item.get('Name', item.get('name')), 'value': item.get('Value', item.get('value'))})
        elif isinstance(item, dict):
            # The one-key form used in POST bodies: {"Reason": "lost card"}.
            items.extend({'name': key, 'value': val} for key, val in item.items())
        else:
            items.append({'name': None, 'value': item})
    return items


# The API sends the same key names in every Request: convert each name once per module run, not once per request.
_SNAKE_NAMES: Dict[str, str] = {}


def _snake_name(key):
    """camel_dict_to_snake_dict's name for one key (Uuid -> uuid, IsSmartcard -> is_smartcard), computed once per name."""
    name = _SNAKE_NAMES.get(key)
    if name is None:
        name = _SNAKE_NAMES[key] = next(iter(camel_dict_to_snake_dict({key: None})))
    return name


def request_facts(api_request):
    """Convert a Request object as the API sends it (PascalCase) into the facts every module returns."""
    raw_data_collection = api_request.get('DataCollection')
    facts = {}
    for key, value in api_request.items():
        if key == 'DataCollection':
            continue
        if isinstance(value, (dict, list)):
            facts.update(camel_dict_to_snake_dict({key: value}))  # converts the nested keys too
        else:
            facts[_snake_name(key)] = value
    lower_guids(facts)

    status_code = facts.get('status')
    facts['status_code'] = status_code
    facts['status'] = status_name(status_code)

    type_code = facts.get('request_type')
    facts['request_type_code'] = type_code
    facts['request_type'] = REQUEST_TYPE_NAMES.get(type_code) if isinstance(type_code, int) else None

    completed = facts.get('completed')
    if not completed or str(completed).startswith(NOT_COMPLETED_PREFIX):
        facts['completed'] = None

    if isinstance(facts.get('security_descriptor'), str):
        facts['security_descriptor'] = facts['security_descriptor'].rstrip('\x00')

    facts['data_collection'] = _data_collection(raw_data_collection)
    return facts


def predicted_facts(facts, target):
    """The facts as they will be once the request reaches `target`: what check mode returns."""
    predicted = dict(facts)
    predicted['status'] = target_status(target)
    predicted['status_code'] = STATUS_CODES[predicted['status']]
    return predicted


def status_diff(before_facts, after_facts):
    """The diff Ansible shows for a status change."""
    return {
        'before': {'status': before_facts['status']},
        'after': {'status': after_facts['status']},
    }
