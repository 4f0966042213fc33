# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""Make the request for a purpose reach a status: find it, submit it when none counts, wait, change it.

The flow of one purpose task: client (searches) -> _purpose (which request is this one) -> policy check
-> client (POST, once) -> optional wait (_wait) -> _converge (PUT) -> facts. Rules in _purpose.py.
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional

from ansible_collections.mim.cm.plugins.module_utils._converge import converge_request
from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError, CmRequestStateError, CmTransientError
from ansible_collections.mim.cm.plugins.module_utils._purpose import (
    OPEN_STATUSES,
    SERVED_STATUS,
    Matches,
    Purpose,
    check_policy,
    match,
    name_request,
    post_body,
    predicted_request,
    submission_diff,
)
from ansible_collections.mim.cm.plugins.module_utils._request_model import normalize_guid, request_facts, status_diff
from ansible_collections.mim.cm.plugins.module_utils._wait import wait_while_in


class WaitOptions(NamedTuple):
    enabled: bool
    timeout: float
    interval: float


class PurposeOutcome(NamedTuple):
    """What a purpose task did: the module returns these fields as they are."""

    changed: bool
    created: bool
    request: Optional[Dict[str, Any]]
    approvals_needed: Optional[int]
    diff: Optional[Dict[str, Any]]


def resolve_profile_template(client, value: str) -> str:
    """The template's GUID: a GUID as given, or the one template the account can see by that name (case-insensitive)."""
    try:
        return normalize_guid(value, 'profile_template')
    except CmInputError:
        pass
    templates = client.list_profile_templates()
    names = sorted(str(template.get('Name')) for template in templates if isinstance(template, dict))
    found = [template for template in templates
             if isinstance(template, dict) and str(template.get('Name', '')).lower() == value.strip().lower()]
    if len(found) != 1:
        raise CmInputError('profile_template %r %s; the profile templates this account can see: %s; nothing was changed'
                           % (value, 'is ambiguous: %d templates have that name' % len(found) if found else 'is not a template name',
                              ', '.join(names) or 'none'))
    return normalize_guid(str(found[0].get('Uuid')), 'the Uuid of profile template %r' % value)


class _Finder(object):
    """Reads the requests that may serve the purpose: one search per status (the API filters by status only)."""

    def __init__(self, client, purpose: Purpose):
        self.client = client
        self.purpose = purpose
        self.api_objects: Dict[str, Dict[str, Any]] = {}

    def find(self, statuses) -> Matches:
        # Without target_user the API's own filter (targetuser=current) narrows every search to the caller's requests.
        target = None if self.purpose.target_user else 'current'
        requests: List[Dict[str, Any]] = []
        seen = set()
        for status in statuses:
            for api_request in self.client.search_requests(status=status, target_user=target):
                facts = request_facts(api_request)
                if facts.get('uuid') and facts['uuid'] not in seen:
                    seen.add(facts['uuid'])
                    self.api_objects[facts['uuid']] = api_request
                    requests.append(facts)
        return match(self.purpose, requests)


def reach(client, purpose: Purpose, target: str, wait: WaitOptions, check_mode: bool = False) -> PurposeOutcome:
    """Make the request for `purpose` reach `target`: submitted, completed, canceled or abandoned."""
    finder = _Finder(client, purpose)
    if target in ('canceled', 'abandoned'):
        return _end_open_request(client, finder, target, wait, check_mode)

    found = finder.find(OPEN_STATUSES + (SERVED_STATUS,))
    existing = _existing(client, purpose, found)
    if existing is None:
        if found.other_open:
            raise CmRequestStateError(
                '%s is open for the same user and profile template, so no %s request can be submitted beside it; '
                'cancel it first (mim.cm.cm_request with its id and status canceled); nothing was sent'
                % (name_request(found.other_open[0]), purpose.type_name), request=found.other_open[0])
        return _submit_new(client, finder, purpose, target, wait, check_mode)
    return _go_on(client, finder, existing, target, wait, check_mode,
                  PurposeOutcome(False, False, existing, None, None))


def _existing(client, purpose: Purpose, found: Matches) -> Optional[Dict[str, Any]]:
    """The request that already serves the purpose: an open one first, then a Completed one.

    A request whose type number is unknown (as is the purpose's) is taken as this one, with a warning: a
    duplicate would issue real certificates, a wrong match only needs type_code.
    """
    for certain, maybe in ((found.this_open, found.maybe_open), (found.this_completed, found.maybe_completed)):
        if certain:
            return certain[0]
        if maybe:
            client.warn('%s is taken as the %s: its type number is not documented, so it may be another type. '
                        'Give type_code (its request_type_code if it is a %s request) to match by number'
                        % (name_request(maybe[0]), purpose.describe(), purpose.type_name))
            return maybe[0]
    return None


def _submit_new(client, finder: _Finder, purpose: Purpose, target: str, wait: WaitOptions, check_mode: bool) -> PurposeOutcome:
    if not purpose.profile_template:
        raise CmInputError('profile_template is required to submit a %s request (no request for the purpose exists); '
                           'nothing was sent' % purpose.type_name)
    policy = check_policy(client.get_workflow_policy(purpose.profile_template, purpose.type_name), purpose)
    if policy.problems:
        raise CmRequestStateError('cannot submit %s: %s; nothing was sent' % (purpose.describe(), '; '.join(policy.problems)))
    for warning in policy.warnings:
        client.warn(warning)

    if check_mode:
        predicted = predicted_request(purpose, policy.approvals_needed)
        if target == 'completed':
            predicted = dict(predicted, status='Completed', status_code=8)
        if predicted['status'] == 'Pending' or (target == 'completed' and policy.approvals_needed and not wait.enabled):
            client.warn('the request would wait in Pending for %s approval(s) in the CM portal'
                        % (policy.approvals_needed if policy.approvals_needed is not None else 'an unknown number of'))
        return PurposeOutcome(True, True, predicted, policy.approvals_needed, submission_diff(purpose, predicted))

    created = _post_once(client, finder, purpose)
    outcome = PurposeOutcome(True, True, created, policy.approvals_needed, submission_diff(purpose, created))
    return _go_on(client, finder, created, target, wait, check_mode, outcome)


def _post_once(client, finder: _Finder, purpose: Purpose) -> Dict[str, Any]:
    """POST the request, through the client's one retry mechanism; a lost answer is searched for first.

    When the answer is lost, `settle` searches the open requests for the purpose: found means the POST was
    made; not found means it is sent again (within `retries`); not found after the last try is a failure.
    """
    call = 'POST %s' % client.api_path('requests')

    def post() -> str:
        return client.create_request(post_body(purpose))

    def settle(error: CmTransientError, tried: int, exhausted: bool) -> Optional[str]:
        found = finder.find(OPEN_STATUSES)
        if found.this_open or found.maybe_open:
            now = (found.this_open or found.maybe_open)[0]
            client.warn('%s: %s, but %s exists now: it was created' % (call, error.reason, name_request(now)))
            return now['uuid']
        if exhausted:
            raise CmRequestStateError('%s failed (%s)%s, and no request for %s exists: nothing was created'
                                      % (call, error.reason, ' after %d attempts' % tried if tried > 1 else '',
                                         purpose.describe()))
        return None  # not created: the POST is sent again

    request_id = client.retrying(call, post, settle)
    api_request = client.get_request(request_id)
    if api_request is None:
        raise CmRequestStateError('%s answered with the new request %s, but GET %s finds no such request'
                                  % (call, request_id, client.api_path('requests/%s' % request_id)), created=True, changed=True)
    return request_facts(api_request)


def _go_on(client, finder: _Finder, facts: Dict[str, Any], target: str, wait: WaitOptions, check_mode: bool,
           outcome: PurposeOutcome) -> PurposeOutcome:
    """From the request for the purpose (found or just created) on to `target`."""
    if facts['status'] == 'Pending' and wait.enabled and not check_mode:
        facts = _wait_for_approval(client, finder, facts, wait)
        outcome = outcome._replace(request=facts)
    if target == 'submitted' or facts['status'] == SERVED_STATUS:
        return outcome
    if facts['status'] == 'Pending':
        if check_mode:
            predicted = dict(facts, status='Completed', status_code=8)
            client.warn('%s waits for approval in the CM portal: the run would %s' % (
                name_request(facts), 'wait for it (wait: true)' if wait.enabled else 'fail unless it is approved first'))
            return outcome._replace(changed=True, request=predicted, diff=status_diff(facts, predicted))
        raise CmRequestStateError(
            '%s waits for approval in the CM portal and cannot be completed yet; approve it there, or set wait: true '
            'to wait for the approval' % name_request(facts),
            request=facts, created=outcome.created, changed=outcome.changed, approvals_needed=outcome.approvals_needed)
    converged = converge_request(client, facts['uuid'], target, check_mode=check_mode, known=finder.api_objects.get(facts['uuid']))
    diff = outcome.diff if outcome.created else converged.diff
    return outcome._replace(changed=outcome.changed or converged.changed, request=converged.request, diff=diff)


def _end_open_request(client, finder: _Finder, target: str, wait: WaitOptions, check_mode: bool) -> PurposeOutcome:
    found = finder.find(OPEN_STATUSES)
    if found.maybe_open and not found.this_open:
        request = found.maybe_open[0]
        raise CmRequestStateError(
            '%s is open for the same user and template, but its type number %s is not documented, so it is not known to be '
            'a %s request: it is never %s by guess. Give type_code (%s if it is a %s request) or its id; nothing was changed'
            % (name_request(request), request.get('request_type_code'), finder.purpose.type_name, target,
               request.get('request_type_code'), finder.purpose.type_name), request=request)
    if not found.this_open:
        return PurposeOutcome(False, False, None, None, None)
    facts = found.this_open[0]
    for other in found.this_open[1:]:
        client.warn('%s is open for the same purpose too; only the newest, %s, was %s' % (name_request(other), facts['uuid'], target))
    if target == 'abandoned' and facts['status'] == 'Pending' and wait.enabled and not check_mode:
        facts = _wait_for_approval(client, finder, facts, wait)
    converged = converge_request(client, facts['uuid'], target, check_mode=check_mode, known=finder.api_objects.get(facts['uuid']))
    return PurposeOutcome(converged.changed, False, converged.request, None, converged.diff)


def _wait_for_approval(client, finder: _Finder, facts: Dict[str, Any], wait: WaitOptions) -> Dict[str, Any]:
    """Wait while the request is Pending; Denied or Canceled meanwhile, or the deadline, is a failure."""
    finder.api_objects.pop(facts['uuid'], None)  # what the searches returned is out of date once the request moves on
    result = wait_while_in(client, [facts['uuid']], frozenset(['Pending']), timeout=wait.timeout, interval=wait.interval,
                           known={facts['uuid']: facts})
    if facts['uuid'] in result.still_waiting:
        now = result.still_waiting[facts['uuid']]
        raise CmRequestStateError(_still_pending(now, result.waited_seconds, wait), request=now)
    now = result.settled[facts['uuid']]
    if now['status'] in ('Denied', 'Canceled', 'Failed'):
        raise CmRequestStateError('%s was waited for, but it became %s instead of Approved; nothing was changed'
                                  % (name_request(now), now['status']), request=now)
    return now


def wait_for_approvals(client, request_ids: List[str], target: str, wait: WaitOptions) -> Dict[str, str]:
    """Before completing or abandoning requests named by GUID: wait while any of them is Pending, all in one loop.

    Returns {request id: why it timed out} for the requests still Pending at the deadline; the others go on
    to the change, which decides from their status then (a Denied or Canceled one is refused, saying so).
    """
    if target not in ('completed', 'abandoned'):
        return {}
    wanted = set(request_ids)
    pending = dict((facts['uuid'], facts) for facts in (request_facts(api_request) for api_request in client.search_requests(status='Pending'))
                   if facts['uuid'] in wanted)
    if not pending:
        return {}
    result = wait_while_in(client, list(pending), frozenset(['Pending']), timeout=wait.timeout, interval=wait.interval, known=pending)
    return dict((request_id, _still_pending(facts, result.waited_seconds, wait)) for request_id, facts in result.still_waiting.items())


def _still_pending(facts: Dict[str, Any], waited_seconds: float, wait: WaitOptions) -> str:
    return ('%s is still Pending (submitted %s) after waiting %.0f s (wait_timeout %s): nobody approved it in the CM portal in time'
            % (name_request(facts), facts.get('submitted'), waited_seconds, wait.timeout))
