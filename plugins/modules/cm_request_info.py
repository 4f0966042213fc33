#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: cm_request_info
short_description: Read or search MIM CM certificate requests
version_added: 0.1.0
description:
  - Reads one Microsoft Identity Manager Certificate Management (MIM CM) certificate request by its GUID, or searches
    requests by status, by target user, and by when they were submitted.
  - The status and target user filters are the CM REST API's own (C(GET /CertificateManagement/api/v1.0/requests?status=...));
    several statuses make one call each. The submission time filters (O(older_than), O(submitted_before),
    O(submitted_after)) are applied by the module to what the API returns.
  - Never changes anything.
author:
  - mim.cm developers (@mim-cm)
extends_documentation_fragment:
  - mim.cm.connection
  - mim.cm.attributes
attributes:
  check_mode:
    description: Reads the same in check mode.
    support: full
  diff_mode:
    description: Changes nothing, so there is no diff.
    support: N/A
  idempotent:
    description: Changes nothing.
    support: full
options:
  id:
    description:
      - The GUID of one request to read. A request the server does not know gives an empty RV(requests).
      - Cannot be combined with the search options.
    type: str
    aliases: [uuid]
  status:
    description:
      - Only requests in one of these statuses. Without it, requests in every status.
    type: list
    elements: str
    choices: [none, pending, approved, denied, executing, failed, canceled, completed]
  target_user:
    description:
      - V(current) returns only requests whose target user is the account the module logs in as.
      - The API accepts no other value.
    type: str
    choices: [current]
  older_than:
    description:
      - Only requests submitted longer ago than this, a whole number with a unit, V(d) (days), V(h) (hours) or V(m) (minutes),
        for example V(30d), V(12h), V(90m).
    type: str
  submitted_before:
    description:
      - Only requests submitted before this time (exclusive), in ISO 8601, for example V(2026-01-31) or V(2026-01-31T12:00:00Z).
      - A time without an offset is UTC.
      - With O(older_than), the earlier of the two bounds applies.
    type: str
  submitted_after:
    description:
      - Only requests submitted at or after this time (inclusive), in ISO 8601. A time without an offset is UTC.
    type: str
'''

EXAMPLES = r'''
- name: Read one request
  mim.cm.cm_request_info:
    url: https://cm.example.com
    username: EXAMPLE\svc-ansible
    password: "{{ vault_cm_password }}"
    id: a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099
  register: found

- name: What is pending or approved?
  mim.cm.cm_request_info:
    status: [pending, approved]
  register: waiting

- name: Cancel every pending request older than 30 days
  block:
    - name: Find them
      mim.cm.cm_request_info:
        status: pending
        older_than: 30d
      register: stale

    - name: Cancel them in one task
      mim.cm.cm_request:
        ids: "{{ stale.requests | map(attribute='uuid') }}"
        status: canceled

- name: Requests submitted in January 2026, for the account the module logs in as
  mim.cm.cm_request_info:
    target_user: current
    submitted_after: '2026-01-01'
    submitted_before: '2026-02-01'
  register: january
'''

RETURN = r'''
requests:
  description:
    - The requests found, each in the same shape as RV(mim.cm.cm_request#module:request); see that module for every fact.
    - Empty when nothing matches (the API answers 204) or the O(id) is unknown.
  returned: always
  type: list
  elements: dict
  sample:
    - uuid: a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099
      status: Approved
      status_code: 3
      request_type: Enroll
      request_type_code: 1
      submitted: '2015-07-07T23:36:21.93Z'
      completed: null
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.mim.cm.plugins.module_utils._client import (
    CONNECTION_ARGUMENT_SPEC,
    CmClient,
    missing_libraries,
)
from ansible_collections.mim.cm.plugins.module_utils._secrets import protect_secrets
from ansible_collections.mim.cm.plugins.module_utils._errors import CmError
from ansible_collections.mim.cm.plugins.module_utils._request_model import normalize_guid, request_facts
from ansible_collections.mim.cm.plugins.module_utils._submission_filter import SubmissionWindow

SEARCH_OPTIONS = ('status', 'target_user', 'older_than', 'submitted_before', 'submitted_after')
# The `status` choice -> the name the API's ?status= takes.
STATUS_CHOICES = dict((name.lower(), name) for name in ('None', 'Pending', 'Approved', 'Denied', 'Executing', 'Failed', 'Canceled', 'Completed'))


def argument_spec():
    spec = dict(CONNECTION_ARGUMENT_SPEC)
    spec.update(
        id=dict(type='str', aliases=['uuid']),
        status=dict(type='list', elements='str', choices=list(STATUS_CHOICES)),
        target_user=dict(type='str', choices=['current']),
        older_than=dict(type='str'),
        submitted_before=dict(type='str'),
        submitted_after=dict(type='str'),
    )
    return spec


def read_one(client, request_id):
    api_request = client.get_request(request_id)
    return [request_facts(api_request)] if api_request is not None else []


def search(client, statuses, target_user, window):
    """Search once per status (or once for all), keep each request once, then apply the submission window."""
    found = []
    seen = set()
    for status in statuses or [None]:
        for api_request in client.search_requests(status=status, target_user=target_user):
            facts = request_facts(api_request)
            if facts['uuid'] not in seen:
                seen.add(facts['uuid'])
                found.append(facts)
    return window.select(found)


def run(module, client):
    """Return the list of request facts the options ask for."""
    params = module.params
    if params['id'] is not None:
        return read_one(client, normalize_guid(params['id']))
    window = SubmissionWindow.from_options(params['older_than'], params['submitted_before'], params['submitted_after'])
    statuses = [STATUS_CHOICES[status] for status in dict.fromkeys(params['status'] or [])]
    return search(client, statuses, params['target_user'], window)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[('id', option) for option in SEARCH_OPTIONS],
        supports_check_mode=True,
    )
    protect_secrets(module)  # before anything can warn or fail: masks every form of the passwords
    for library, import_error in missing_libraries():
        module.fail_json(msg=missing_required_lib(library), exception=import_error)

    try:
        with CmClient.from_params(module.params, warn=module.warn) as client:
            requests = run(module, client)
    except CmError as exc:
        module.fail_json(msg=exc.message, **exc.details)

    module.exit_json(changed=False, requests=requests)


if __name__ == '__main__':
    main()
