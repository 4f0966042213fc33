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
    requests by status, by what they are for (request type, profile template, target user, originator), and by when
    they were submitted.
  - The status filter and O(target_user=current) are the CM REST API's own
    (C(GET /CertificateManagement/api/v1.0/requests?status=...)); several statuses make one call each. Every other
    filter is applied by the module to what the API returns, so a search without O(status) reads every request the
    account can see.
  - With O(wait_for), waits until the requests found reach a status, for example until a person approved them in the
    CM portal or a user's CM client executed them, without changing anything.
  - Never changes anything.
author:
  - mim.cm developers (@mim-cm)
extends_documentation_fragment:
  - mim.cm.connection
  - mim.cm.attributes
  - mim.cm.attributes.info_module
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
      - Only requests for this user. V(current) is the account the module logs in as, and the API's own filter;
        a user's GUID (the AD objectGUID) is filtered by the module.
    type: str
  originator:
    description:
      - Only requests submitted by this user, given by GUID (the AD objectGUID); it is C(originator_user_uuid) in RV(requests).
    type: str
  request_type:
    description:
      - Only requests of these types, by name.
      - Only the numbers of V(enroll) (1) and V(unblock) (5) are documented. The other names are refused, because MIM CM
        servers number those types differently and a guess would select the wrong requests; give their numbers in
        O(request_type_code) instead (the C(request_type_code) of any request of that type in RV(requests) shows it).
      - With O(request_type_code), a request of either matches.
    type: list
    elements: str
    choices: [enroll, renew, revoke, retire, unblock, duplicate, online_update, offline_unblock, recover,
              recover_on_behalf, reinstate, temporary_cards]
  request_type_code:
    description:
      - Only requests whose type has one of these numbers (C(request_type_code) in RV(requests)).
    type: list
    elements: int
  profile_template:
    description:
      - Only requests for these profile templates, each given by GUID or by name.
      - Names are looked up with C(GET /profiletemplates) before the search, as in M(mim.cm.cm_request), without
        regard to case; a name the account cannot see, or that several templates share, fails and lists the names
        it can see.
    type: list
    elements: str
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
  wait_for:
    description:
      - Wait until every request found has reached this status, then return them; nothing is changed.
      - A request further along the way Pending, Approved, Executing, Completed has reached it; with
        V(approved), an Executing or Completed request was approved.
      - Fails when a request ends elsewhere (Denied, Canceled, Failed), since it never will get there, and when
        O(wait_timeout) runs out, saying how long it waited and where each request stands.
      - The requests are those found when the task starts; none found returns at once. An O(id) the server does not
        know fails.
      - All requests wait together; each round costs one search per status they may still be in, not one call each.
      - This is an option of the read module, not of M(mim.cm.cm_request), because waiting changes nothing
        (C(changed) stays false) and a person or a card client, not Ansible, moves the request on; to wait for an
        approval and then complete or abandon the request, use M(mim.cm.cm_request) with its C(wait) option.
      - In check mode nothing waits; the requests are returned as they are.
    type: str
    choices: [approved, executing, completed]
  wait_timeout:
    description:
      - With O(wait_for), how many seconds to wait at most. The task ends within this, plus one O(wait_interval),
        plus one call's O(timeout).
      - V(0) looks once and does not wait.
    type: int
    default: 600
  wait_interval:
    description:
      - With O(wait_for), seconds between two rounds of polling; more than 0.
    type: float
    default: 10
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

- name: Pending Enroll requests for one user, with the VPN template
  mim.cm.cm_request_info:
    status: pending
    request_type: enroll
    target_user: 3f2504e0-4f89-41d3-9a0c-0305e82c3301
    profile_template: VPN User
  register: vpn_enrollments

- name: Renew requests, by the number this server gives them (request_type_code of any Renew request shows it)
  mim.cm.cm_request_info:
    status: [pending, approved]
    request_type_code: [2]
  register: renewals

- name: Wait until the user's CM client has executed the enrollment on the card
  mim.cm.cm_request_info:
    id: "{{ submitted.request.uuid }}"
    wait_for: completed
    wait_timeout: 3600
    wait_interval: 30
  register: done

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
waited_seconds:
  description: With O(wait_for), how many seconds the task waited (0 when every request had already reached the status).
  returned: when O(wait_for) is given
  type: float
  sample: 42.5
'''

from typing import List, Optional

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mim.cm.plugins.module_utils import _filters
from ansible_collections.mim.cm.plugins.module_utils._client import CONNECTION_ARGUMENT_SPEC
from ansible_collections.mim.cm.plugins.module_utils._module_run import run_with_client
from ansible_collections.mim.cm.plugins.module_utils._errors import CmRequestStateError
from ansible_collections.mim.cm.plugins.module_utils._purpose import REQUEST_TYPES
from ansible_collections.mim.cm.plugins.module_utils._request_model import normalize_guid, request_facts
from ansible_collections.mim.cm.plugins.module_utils._submission_filter import SubmissionWindow
from ansible_collections.mim.cm.plugins.module_utils._submit import resolve_profile_template
from ansible_collections.mim.cm.plugins.module_utils._wait import (
    DEFAULT_WAIT_INTERVAL,
    DEFAULT_WAIT_TIMEOUT,
    check_timing,
    wait_until_reached,
)

SEARCH_OPTIONS = ('status', 'target_user', 'originator', 'request_type', 'request_type_code', 'profile_template',
                  'older_than', 'submitted_before', 'submitted_after')
# The `status` choice -> the name the API's ?status= takes.
STATUS_CHOICES = dict((name.lower(), name) for name in ('None', 'Pending', 'Approved', 'Denied', 'Executing', 'Failed', 'Canceled', 'Completed'))
WAIT_FOR_CHOICES = ('approved', 'executing', 'completed')


def argument_spec():
    spec = dict(CONNECTION_ARGUMENT_SPEC)
    spec.update(
        id=dict(type='str', aliases=['uuid']),
        status=dict(type='list', elements='str', choices=list(STATUS_CHOICES)),
        target_user=dict(type='str'),
        originator=dict(type='str'),
        request_type=dict(type='list', elements='str', choices=list(REQUEST_TYPES)),
        request_type_code=dict(type='list', elements='int'),
        profile_template=dict(type='list', elements='str'),
        older_than=dict(type='str'),
        submitted_before=dict(type='str'),
        submitted_after=dict(type='str'),
        wait_for=dict(type='str', choices=list(WAIT_FOR_CHOICES)),
        wait_timeout=dict(type='int', default=DEFAULT_WAIT_TIMEOUT),
        wait_interval=dict(type='float', default=DEFAULT_WAIT_INTERVAL),
    )
    return spec


class Search(object):
    """A search as the options describe it, checked before any traffic: what the API filters, and what the module does."""

    def __init__(self, params):
        self.statuses = [STATUS_CHOICES[status] for status in dict.fromkeys(params['status'] or [])]
        self.api_target_user, target_user_guid = _filters.target_user(params['target_user'])
        self.window = SubmissionWindow.from_options(params['older_than'], params['submitted_before'], params['submitted_after'])
        self.template_guids, self.template_names = _filters.split_templates(params['profile_template'])
        self.filter = _filters.RequestFilter(
            type_codes=_filters.type_codes(params['request_type'], params['request_type_code']),
            profile_templates=None,  # set once the names are resolved
            target_user=target_user_guid,
            originator=_filters.guid_or_none(params['originator'], 'originator'),
        )

    def run(self, client):
        """Resolve template names (only when names are given), search once per status (or once for all), filter."""
        if self.template_guids or self.template_names:
            guids = self.template_guids + [resolve_profile_template(client, name) for name in self.template_names]
            self.filter = self.filter._replace(profile_templates=frozenset(guids))
        found = []
        seen = set()
        statuses: List[Optional[str]] = list(self.statuses) or [None]
        for status in statuses:
            for api_request in client.search_requests(status=status, target_user=self.api_target_user):
                facts = request_facts(api_request)
                if facts['uuid'] not in seen:
                    seen.add(facts['uuid'])
                    found.append(facts)
        return self.filter.select(self.window.select(found))


def read_one(client, request_id):
    api_request = client.get_request(request_id)
    return [request_facts(api_request)] if api_request is not None else []


def run(module, client):
    """Return (the list of request facts the options ask for, the extra results: waited_seconds with wait_for)."""
    params = module.params
    if params['wait_for'] is not None:
        check_timing(params['wait_timeout'], params['wait_interval'])
    if params['id'] is not None:
        request_id = normalize_guid(params['id'])
        requests = read_one(client, request_id)
        if not requests and params['wait_for'] is not None:
            raise CmRequestStateError('request %s was not found, so it cannot become %s: GET %s answered with no request'
                                      % (request_id, params['wait_for'], client.api_path('requests/%s' % request_id)),
                                      requests=[])
    else:
        requests = Search(params).run(client)
    if params['wait_for'] is None:
        return requests, {}
    requests, result = wait_until_reached(client, requests, params['wait_for'], params['wait_timeout'], params['wait_interval'],
                                          check_mode=module.check_mode)
    return requests, dict(waited_seconds=round(result.waited_seconds, 3))


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[('id', option) for option in SEARCH_OPTIONS],
        supports_check_mode=True,
    )
    requests, extra = run_with_client(module, lambda client, new_client: run(module, client))
    module.exit_json(changed=False, requests=requests, **extra)


if __name__ == '__main__':
    main()
