#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: cm_profile_template_info
short_description: List MIM CM profile templates and read their workflow policies
version_added: 0.2.0
description:
  - Lists the Microsoft Identity Manager Certificate Management (MIM CM) profile templates the account can see
    (C(GET /CertificateManagement/api/v1.0/profiletemplates)).
  - With O(profile_template), reads that one template and its workflow policy for each request type
    (C(GET .../profiletemplates/{id}/policies/{type})) - the data-collection items it asks for and which are required,
    how many approvals a request needs, whether comments are collected and whether the policy is enabled. That is what
    M(mim.cm.cm_request) checks before it submits a request.
  - Never changes anything.
author:
  - mim.cm developers (@mim-cm)
extends_documentation_fragment:
  - mim.cm.connection
  - mim.cm.attributes
  - mim.cm.attributes.info_module
options:
  profile_template:
    description:
      - One template, by GUID or by name (a name is looked up among the templates the account can see; an unknown or
        ambiguous name fails, listing the names).
      - Without it, every template the account can see is listed and no policy is read.
    type: str
  request_types:
    description:
      - With O(profile_template), the request types whose workflow policy to read; one API call each.
    type: list
    elements: str
    choices: [enroll, renew, revoke, retire, unblock, duplicate, online_update, offline_unblock, recover,
              recover_on_behalf, reinstate, temporary_cards]
    default: [enroll, renew, revoke, retire, unblock, duplicate, online_update, offline_unblock, recover,
              recover_on_behalf, reinstate, temporary_cards]
'''

EXAMPLES = r'''
- name: List the profile templates the automation account can see
  mim.cm.cm_profile_template_info:
    url: https://cm.example.com
    username: EXAMPLE\svc-ansible
    password: "{{ vault_cm_password }}"
  delegate_to: localhost
  register: templates

- name: Read what an Enroll request on the VPN template must carry
  mim.cm.cm_profile_template_info:
    profile_template: VPN User
    request_types: [enroll]
  register: vpn

- name: Show the data-collection items the workflow requires
  ansible.builtin.debug:
    msg: "{{ vpn.policies.enroll.data_collection | selectattr('required') | map(attribute='name') }}"
'''

RETURN = r'''
profile_templates:
  description:
    - The templates, converted from the API's objects to snake_case (C(Uuid) to C(uuid), C(IsSmartcard) to C(is_smartcard)),
      GUIDs in lower case. With O(profile_template), only that one.
  returned: success
  type: list
  elements: dict
  sample: [{uuid: 7c4a1f0e-2b6d-4e8a-9c3f-5d1e0a2b4c6d, name: VPN User, is_smartcard: false}]
policies:
  description:
    - With O(profile_template), its workflow policy per request type (the O(request_types) names as keys), in snake_case;
      V(null) for a type the server shows no policy for.
    - C(data_collection) lists the items as C({name, required}); where the server's shape is not one this collection
      reads, it is returned as the server sent it.
  returned: with O(profile_template)
  type: dict
  sample:
    enroll:
      approvals_needed: 1
      collect_comments: false
      enabled: true
      self_service_enabled: true
      enroll_agent_required: false
      data_collection: [{name: Reason, required: true}]
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.mim.cm.plugins.module_utils._client import CONNECTION_ARGUMENT_SPEC
from ansible_collections.mim.cm.plugins.module_utils._module_run import run_with_client
from ansible_collections.mim.cm.plugins.module_utils._purpose import REQUEST_TYPES, policy_facts
from ansible_collections.mim.cm.plugins.module_utils._request_model import lower_guids
from ansible_collections.mim.cm.plugins.module_utils._submit import resolve_profile_template


def argument_spec():
    spec = dict(CONNECTION_ARGUMENT_SPEC)
    spec.update(
        profile_template=dict(type='str'),
        request_types=dict(type='list', elements='str', choices=list(REQUEST_TYPES), default=list(REQUEST_TYPES)),
    )
    return spec


def template_facts(api_template):
    return lower_guids(camel_dict_to_snake_dict(api_template))


def run(module, client):
    """Return (profile templates, policies by request type or None)."""
    params = module.params
    if params['profile_template'] is None:
        return [template_facts(template) for template in client.list_profile_templates() if isinstance(template, dict)], None
    template_id = resolve_profile_template(client, params['profile_template'])
    template = client.get_profile_template(template_id)
    policies = dict((option, policy_facts(client.get_workflow_policy(template_id, REQUEST_TYPES[option])))
                    for option in dict.fromkeys(params['request_types']))
    return ([template_facts(template)] if template else []), policies


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    templates, policies = run_with_client(module, lambda client, new_client: run(module, client))
    result = dict(changed=False, profile_templates=templates)
    if policies is not None:
        result['policies'] = policies
    module.exit_json(**result)


if __name__ == '__main__':
    main()
