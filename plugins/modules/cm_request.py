#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: cm_request
short_description: Submit MIM CM certificate requests and make them reach a status
version_added: 0.1.0
description:
  - Declares where a Microsoft Identity Manager Certificate Management (MIM CM) certificate request must end up,
    V(completed), V(canceled) or V(abandoned), and makes it so through the CM REST API.
  - Reads the request first and sends the change (C(PUT /CertificateManagement/api/v1.0/requests/{id})) only when it is
    needed, so running the task again changes nothing.
  - A request already in the target status is left alone (C(changed=false)). A request in another final status
    (Completed, Canceled, Denied or Failed) cannot change any more; the task fails without sending anything.
  - Any other request is sent the change and the server decides; its refusal is reported with its own message and
    correlation ID.
  - Abandoning is an action, not a status; an abandoned request ends V(Failed), so V(abandoned) is reached when the
    request is V(Failed).
  - With O(ids), many requests reach the same status in one task, each decided as above. A request that cannot get
    there does not stop the others; the task fails at the end, listing each such request and why.
  - With O(type) instead of O(id), the request is named by what it is for (its type, target user and profile
    template) and O(status=submitted) makes sure one exists, submitting it when none does. The module never creates a
    second request for the same purpose; see O(type) for which existing request counts as "this request".
  - There is no approve or deny call in the CM REST API; approve requests in the CM portal. With O(wait), a task
    waits for that approval (or until O(wait_timeout)) before it changes the request.
author:
  - mim.cm developers (@mim-cm)
extends_documentation_fragment:
  - mim.cm.connection
  - mim.cm.attributes
attributes:
  check_mode:
    description: Sends no change; returns the request as it would be after the change.
    support: full
  diff_mode:
    description: Returns the status before and after the change.
    support: full
  idempotent:
    description: A second run with the same options changes nothing and reports C(changed=false).
    support: full
options:
  id:
    description:
      - The GUID of the certificate request, as the CM portal or API shows it.
      - Letter case and surrounding braces do not matter; anything that is not a GUID fails before any network traffic.
      - Exactly one of O(id), O(ids) and O(type) is required.
    type: str
    aliases: [uuid]
  ids:
    description:
      - The GUIDs of many requests that must all reach O(status).
      - A GUID listed twice (also in another letter case) is handled once. An empty list does nothing.
      - If any item is not a GUID the task fails before any network traffic, naming every such item.
      - Exactly one of O(id), O(ids) and O(type) is required.
    type: list
    elements: str
  workers:
    description:
      - With O(ids), how many requests to handle at once. Each worker keeps its own authenticated connection,
        so a task costs one NTLM handshake per worker, not per request.
      - V(1) handles the list one request at a time. The results keep the order of O(ids) whatever the value.
      - At most V(16); never more connections are opened than there are requests.
    type: int
    default: 4
  read_strategy:
    description:
      - With O(ids), how to learn the requests' current statuses before deciding.
      - V(get) reads each request (one C(GET /requests/{id}) per request).
      - V(search) first searches the statuses the target changes (C(GET /requests?status=...) for Approved and Executing
        when completing, for example), then reads one by one only the requests the searches did not return (those
        already at the target, or in a final status). Fewer round trips for long lists of requests that need the change;
        each search returns every request of that status on the server.
      - V(auto) searches from 100 ids on, and reads one by one below that. Each search returns every request of its
        status on the server, so it pays off only for long lists (see the performance guide of the docs site).
      - Every strategy makes the same decisions and returns the same facts.
    type: str
    default: auto
    choices: [auto, search, get]
  status:
    description:
      - Where the request must end up.
      - V(submitted) (only with O(type)) makes sure a request for the purpose exists, Pending or further on, and
        submits one when none counts.
      - V(completed) completes an Approved or Executing request (it then shows V(Completed)). With O(type), the open
        request for the purpose is completed, after submitting it when none exists; a Completed one already counts.
      - V(canceled) cancels a Pending, Approved or Executing request (it then shows V(Canceled)). With O(type), the open
        request for the purpose is canceled; when none is open, nothing changes.
      - V(abandoned) abandons an Approved or Executing request (it then shows V(Failed)). With O(type), as for V(canceled).
    type: str
    required: true
    choices: [submitted, completed, canceled, abandoned]
  type:
    description:
      - What the request is for. Names the request by its purpose instead of its GUID.
      - 'The request for the purpose is an existing request with the same O(target_user), the same O(profile_template)
        (or, when only O(smartcard) is given, the same smart card) and the same type, that is open (Pending, Approved,
        Executing) or Completed (within O(completed_within) when given). Denied, Canceled and Failed requests do not
        count: a new request may then be submitted.'
      - At most one request is open per target user and profile template, whatever its type. An open request of
        another type makes V(submitted) and V(completed) fail, naming it; nothing is sent.
      - Types are matched by their number. The API documents only Enroll (1) and Unblock (5); for other types give
        O(type_code). Without it, an open or Completed request of an undocumented number for the same user and template
        is taken as this request (with a warning) by V(submitted) and V(completed), and never acted upon by
        V(canceled) or V(abandoned) (the task fails naming it).
      - Mutually exclusive with O(id) and O(ids).
    type: str
    version_added: 0.2.0
    choices: [enroll, renew, revoke, retire, unblock, duplicate, online_update, offline_unblock, recover,
              recover_on_behalf, reinstate, temporary_cards]
  type_code:
    description:
      - The number your server uses for O(type), as RV(request.request_type_code) of any request of that type shows
        it. Only needed for types other than V(enroll) (1) and V(unblock) (5), whose numbers are documented.
    type: int
    version_added: 0.2.0
  target_user:
    description:
      - The GUID of the user the request is for (the user's Active Directory objectGUID).
      - Default is the account that logs in. With it left out, the searches use the API's own filter
        (C(targetuser=current)).
    type: str
    version_added: 0.2.0
  profile_template:
    description:
      - The profile template of the request, by GUID or by name. A name is looked up among the templates the account
        can see (C(GET /profiletemplates)); an unknown or ambiguous name fails before any change, listing the names.
      - Required to submit a request.
    type: str
    version_added: 0.2.0
  smartcard:
    description:
      - The GUID of the smart card, for card-bound types (unblock, retire, ...). Sent with a new request, and names the
        request by its card when O(profile_template) is not given.
    type: str
    version_added: 0.2.0
  data_collection:
    description:
      - The data the template's workflow asks for, item name to value.
      - Checked against the workflow policy before anything is sent - an item the policy requires that is missing, or
        an item it does not list, fails the task. Not used to find an existing request.
    type: dict
    version_added: 0.2.0
    default: {}
  comment:
    description:
      - The comment sent with a new request.
    type: str
    version_added: 0.2.0
  priority:
    description:
      - The priority sent with a new request, 0 to 255.
    type: int
    version_added: 0.2.0
  completed_within:
    description:
      - With O(type), a Completed request counts as this request only when it completed within this time, for example
        V(365d) for a yearly renewal. A whole number and a unit, V(d), V(h) or V(m).
      - Default is no limit - any Completed request counts, so a second run never submits again.
      - To check Completed requests the task searches them, and the server answers with all of its Completed requests.
    type: str
    version_added: 0.2.0
  wait:
    description:
      - Wait while the request is Pending (waiting for approval in the CM portal), then go on.
      - V(completed) and V(abandoned) then change the request once it is Approved; V(submitted) returns once it is.
      - A request that becomes Denied or Canceled meanwhile fails the task, saying so. With O(ids), all requests wait
        together, with one search per round. Check mode does not wait.
    type: bool
    version_added: 0.2.0
    default: false
  wait_timeout:
    description:
      - How many seconds to wait at most with O(wait); then the task fails, saying how long it waited and where the
        request stands. V(0) looks once and does not wait.
    type: int
    version_added: 0.2.0
    default: 600
  wait_interval:
    description:
      - Seconds between two looks at the waiting requests with O(wait).
    type: float
    version_added: 0.2.0
    default: 10
notes:
  - The account needs the MIM CM permissions for the change (Execute to complete a request); without them the server
    answers 403 and the task fails saying so.
'''

EXAMPLES = r'''
- name: Complete an approved certificate request
  mim.cm.cm_request:
    url: https://cm.example.com
    username: EXAMPLE\svc-ansible
    password: "{{ vault_cm_password }}"
    id: a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099
    status: completed
  delegate_to: localhost
  register: completed_request

- name: Show when it was completed
  ansible.builtin.debug:
    msg: "{{ completed_request.request.uuid }} is {{ completed_request.request.status }} since {{ completed_request.request.completed }}"

- name: Cancel a request, with the connection set once for every mim.cm module
  module_defaults:
    group/mim.cm.cm:
      url: https://cm.example.com
      username: svc-ansible@example.com
      password: "{{ vault_cm_password }}"
      ca_path: /etc/pki/example-ca.pem
  block:
    - name: Cancel the request
      mim.cm.cm_request:
        id: 5B0E8A43-0C6F-4A57-9F0A-7A1C3E2D4B10
        status: canceled

- name: Complete many approved requests in one task
  mim.cm.cm_request:
    ids: "{{ approved_requests.requests | map(attribute='uuid') }}"
    status: completed
  register: completed_requests

- name: Show which ones changed
  ansible.builtin.debug:
    var: completed_requests.changed_ids

- name: Onboarding - make sure the new hire has an Enroll request for the VPN template (never a second one)
  mim.cm.cm_request:
    type: enroll
    target_user: "{{ new_hire_object_guid }}"
    profile_template: VPN User
    data_collection:
      Reason: New hire
    comment: Onboarding ticket 4711
    status: submitted
  register: enrollment

- name: Wait for the approval in the CM portal (up to one hour), then complete the request
  mim.cm.cm_request:
    type: enroll
    target_user: "{{ new_hire_object_guid }}"
    profile_template: VPN User
    data_collection:
      Reason: New hire
    status: completed
    wait: true
    wait_timeout: 3600
    wait_interval: 30

- name: Offboarding - cancel whatever Enroll request is still open for the leaver
  mim.cm.cm_request:
    type: enroll
    target_user: "{{ leaver_object_guid }}"
    profile_template: VPN User
    status: canceled

- name: Abandon a request stuck in Executing (it ends Failed)
  mim.cm.cm_request:
    id: "{{ stuck_request_id }}"
    status: abandoned
  # url, username and password from MIM_CM_URL, MIM_CM_USERNAME and MIM_CM_PASSWORD
'''

RETURN = r'''
request:
  description:
    - The request's facts after the task, converted from the API's Request object to snake_case.
    - In check mode, the request as it was read, with RV(request.status) and RV(request.status_code) set to where the change leads.
    - Also returned when the task fails because the request is in another final status.
  returned: with O(id), when the request was read; with O(type), when a request for the purpose exists (or would, in check mode)
  type: dict
  contains:
    uuid:
      description: The request's GUID, in lower case.
      type: str
      sample: a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099
    status:
      description: The status name, or V(null) for a number the API does not document (see RV(request.status_code)).
      type: str
      sample: Completed
    status_code:
      description: The status number as the API sends it (Approved 3, Denied 4, Completed 8, Failed 9, Pending 16, Canceled 17, Executing 18).
      type: int
      sample: 8
    request_type:
      description: The request type name (V(Enroll), V(Unblock)), or V(null) for a number without a known name.
      type: str
      sample: Enroll
    request_type_code:
      description: The request type number as the API sends it.
      type: int
      sample: 1
    flags:
      description: The request's flags as the API sends them (Smartcard is 2).
      type: int
      sample: 2
    data_collection:
      description: The data collected for the request.
      type: list
      elements: dict
      contains:
        name:
          description: The data item's name.
          type: str
        value:
          description: The data item's value.
          type: str
      sample: [{name: Reason, value: New employee}]
    data_collection_flags:
      description: The data collection flags as the API sends them.
      type: int
      sample: 32
    originator_user_uuid:
      description: The GUID of the user who submitted the request, in lower case.
      type: str
    target_user_uuid:
      description: The GUID of the user the request is for, in lower case.
      type: str
    submitted:
      description: When the request was submitted (ISO 8601, UTC).
      type: str
      sample: '2015-07-07T23:36:21.93Z'
    completed:
      description: When the request was completed (ISO 8601, UTC), or V(null) while it is not.
      type: str
      sample: '2015-07-07T23:37:37.767Z'
    new_profile_uuid:
      description: The GUID of the profile the request creates, in lower case (all zeros when unset).
      type: str
    old_profile_uuid:
      description: The GUID of the profile the request replaces, in lower case (all zeros when unset).
      type: str
    new_smartcard_uuid:
      description: The GUID of the smart card the request creates, in lower case (all zeros when unset).
      type: str
    old_smartcard_uuid:
      description: The GUID of the smart card the request replaces, in lower case (all zeros when unset).
      type: str
    priority:
      description: The request's priority, 0 to 255.
      type: int
      sample: 0
    comment:
      description: The request's comment.
      type: str
      sample: ''
    profile_template_uuid:
      description: The GUID of the profile template, in lower case.
      type: str
    security_descriptor:
      description: The request's security descriptor in SDDL, without the NUL padding the API adds.
      type: str
    is_smartcard:
      description: Whether the request is for a smart card.
      type: bool
    is_enrollment_agent:
      description: Whether the request was made by an enrollment agent.
      type: bool
    is_data_collection_complete:
      description: Whether all data for the request has been collected.
      type: bool
created:
  version_added: 0.2.0
  description: With O(type), whether the task submitted a new request (or in check mode would submit one).
  returned: with O(type)
  type: bool
  sample: true
approvals_needed:
  version_added: 0.2.0
  description:
    - With O(type), how many approvals the template's workflow policy needs before a new request is Approved, as the
      policy says; a request that needs any waits in Pending until someone approves it in the CM portal.
    - V(null) when no new request was submitted (the policy is read only before a submission) or the policy does not say.
  returned: with O(type)
  type: int
  sample: 1
requests:
  description:
    - With O(ids), the facts of every request that was read, in the order of O(ids) (each once), in the same shape as RV(request).
    - Also returned when the task fails, with every request that was read.
  returned: with O(ids)
  type: list
  elements: dict
changed_ids:
  description: With O(ids), the GUIDs (lower case) of the requests the task changed (or in check mode would change).
  returned: with O(ids), also on failure
  type: list
  elements: str
  sample: [a9b4b42c-cc50-4c9b-89d1-bbc0bcd5a099]
failures:
  description: With O(ids), each request that could not reach O(status), and why.
  returned: with O(ids), on failure
  type: list
  elements: dict
  contains:
    id:
      description: The request's GUID, lower case.
      type: str
    msg:
      description: Why it could not reach O(status).
      type: str
diff:
  description:
    - The status before and after, when the task changed (or in check mode would change) something.
    - With O(ids), C(before) and C(after) map each changed request's GUID to its status.
  returned: changed
  type: dict
  sample: {before: {status: Approved}, after: {status: Completed}}
status_code:
  description: The HTTP status code of the call that failed.
  returned: failure, when the server answered
  type: int
  sample: 403
correlation_id:
  description: The correlation ID of the server's error, to find it in the CM server's event log.
  returned: failure, when the server gave one
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mim.cm.plugins.module_utils._client import CONNECTION_ARGUMENT_SPEC
from ansible_collections.mim.cm.plugins.module_utils._module_run import run_with_client
from ansible_collections.mim.cm.plugins.module_utils._converge import (
    DEFAULT_READ_STRATEGY,
    READ_STRATEGIES,
    converge_request,
    converge_requests,
)
from ansible_collections.mim.cm.plugins.module_utils._workers import DEFAULT_WORKERS
from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError, CmRequestStateError
from ansible_collections.mim.cm.plugins.module_utils._purpose import REQUEST_TYPES, Purpose, completed_after, type_code_for
from ansible_collections.mim.cm.plugins.module_utils._request_model import TARGETS, fold_guids, normalize_guid
from ansible_collections.mim.cm.plugins.module_utils._submit import WaitOptions, reach, resolve_profile_template, wait_for_approvals
from ansible_collections.mim.cm.plugins.module_utils._wait import DEFAULT_WAIT_INTERVAL, DEFAULT_WAIT_TIMEOUT, check_timing
from ansible_collections.mim.cm.plugins.module_utils._workers import check_workers


PURPOSE_OPTIONS = ('type_code', 'target_user', 'profile_template', 'smartcard', 'comment', 'priority', 'completed_within')


def argument_spec():
    spec = dict(CONNECTION_ARGUMENT_SPEC)
    spec.update(
        id=dict(type='str', aliases=['uuid']),
        ids=dict(type='list', elements='str'),
        workers=dict(type='int', default=DEFAULT_WORKERS),
        read_strategy=dict(type='str', default=DEFAULT_READ_STRATEGY, choices=list(READ_STRATEGIES)),
        status=dict(type='str', required=True, choices=['submitted'] + list(TARGETS)),
        type=dict(type='str', choices=list(REQUEST_TYPES)),
        type_code=dict(type='int'),
        target_user=dict(type='str'),
        profile_template=dict(type='str'),
        smartcard=dict(type='str'),
        data_collection=dict(type='dict', default={}),
        comment=dict(type='str'),
        priority=dict(type='int'),
        completed_within=dict(type='str'),
        wait=dict(type='bool', default=False),
        wait_timeout=dict(type='int', default=DEFAULT_WAIT_TIMEOUT),
        wait_interval=dict(type='float', default=DEFAULT_WAIT_INTERVAL),
    )
    return spec


def purpose_from_params(params):
    """The Purpose the options describe, checked before any network traffic (a template name is resolved later)."""
    given = [option for option in PURPOSE_OPTIONS if params[option] is not None] + (['data_collection'] if params['data_collection'] else [])
    if params['type'] is None:
        if given or params['status'] == 'submitted':
            raise CmInputError('%s only go%s with type (what the request is for); with id or ids the request is named by its GUID'
                               % (', '.join(given) or 'status submitted', 'es' if len(given) <= 1 else ''))
        return None
    if params['profile_template'] is None and params['smartcard'] is None:
        raise CmInputError('type needs profile_template (or, for a card-bound type, smartcard) to know which request is meant')
    if params['priority'] is not None and not 0 <= params['priority'] <= 255:
        raise CmInputError('priority must be from 0 to 255, not %s' % params['priority'])
    data_collection = {}
    for name, value in params['data_collection'].items():
        if isinstance(value, (dict, list)):
            raise CmInputError('data_collection item %r must be a single value, not a %s' % (name, type(value).__name__))
        data_collection[str(name)] = None if value is None else str(value)
    return Purpose(
        type_name=REQUEST_TYPES[params['type']],
        type_code=type_code_for(params['type'], params['type_code']),
        target_user=normalize_guid(params['target_user'], 'target_user') if params['target_user'] is not None else None,
        profile_template=params['profile_template'],
        smartcard=normalize_guid(params['smartcard'], 'smartcard') if params['smartcard'] is not None else None,
        data_collection=data_collection,
        comment=params['comment'],
        priority=params['priority'],
        completed_after=completed_after(params['completed_within']),
    )


def wait_options(params):
    if params['wait']:
        check_timing(params['wait_timeout'], params['wait_interval'])
    return WaitOptions(params['wait'], params['wait_timeout'], params['wait_interval'])


def check_options(params):
    """Every check that needs no network, so that bad input fails before anything is sent."""
    purpose = purpose_from_params(params)
    if purpose is None:
        if params['ids'] is None:
            normalize_guid(params['id'])
        else:
            fold_guids(params['ids'])
        check_workers(params['workers'])
    return purpose, wait_options(params)


def run(module, client, new_client=None):
    """Converge the request (id), requests (ids) or the request for a purpose (type); return (failure message or None, result).

    `new_client` makes the extra clients of a list's workers.
    """
    params = module.params
    target = params['status']
    purpose, wait = check_options(params)
    if purpose is not None:
        purpose = purpose._replace(profile_template=resolve_profile_template(client, purpose.profile_template)
                                   if purpose.profile_template else None)
        outcome = reach(client, purpose, target, wait, check_mode=module.check_mode)
        result = dict(changed=outcome.changed, created=outcome.created, request=outcome.request,
                      approvals_needed=outcome.approvals_needed)
        return None, _with_diff(result, outcome.diff if outcome.changed else None)

    if params['ids'] is None:
        request_id = normalize_guid(params['id'])
        timed_out = wait_for_approvals(client, [request_id], target, wait) if wait.enabled and not module.check_mode else {}
        if timed_out:
            raise CmRequestStateError(timed_out[request_id], request_id=request_id)
        outcome = converge_request(client, request_id, target, check_mode=module.check_mode)
        return None, _with_diff(dict(changed=outcome.changed, request=outcome.request), outcome.diff if outcome.changed else None)

    request_ids = fold_guids(params['ids'])
    timed_out = wait_for_approvals(client, request_ids, target, wait) if wait.enabled and not module.check_mode else {}
    batch = converge_requests(client, [request_id for request_id in request_ids if request_id not in timed_out], target,
                              check_mode=module.check_mode, workers=params['workers'], new_client=new_client,
                              read_strategy=params['read_strategy'])
    if batch.stopped_by is not None:
        # The task fails with this error, and still reports what was already done before giving up on the rest.
        batch.stopped_by.details.update(changed=batch.changed, changed_ids=batch.changed_ids, requests=batch.requests)
        raise batch.stopped_by
    failures = list(batch.failures) + [dict(id=request_id, msg=message) for request_id, message in timed_out.items()]
    result = _with_diff(dict(changed=batch.changed, requests=batch.requests, changed_ids=batch.changed_ids),
                        batch.diff if batch.changed else None)
    if not failures:
        return None, result
    result['failures'] = failures
    message = '%d of the requests could not reach %s: %s' % (
        len(failures), target, '; '.join(failure['msg'] for failure in failures))
    return message, result


def _with_diff(result, diff):
    if diff:
        result['diff'] = diff
    return result


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[('id', 'ids', 'type')],
        required_one_of=[('id', 'ids', 'type')],
        supports_check_mode=True,
    )
    failure, result = run_with_client(module, lambda client, new_client: run(module, client, new_client=new_client))
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
