# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""Bring one request to a target status: read it, decide, change it only when needed, verify.

The flow of design.md: client (GET) -> request model (decide) -> client (PUT) -> facts.
"""

from __future__ import annotations

from ansible_collections.mim.cm.plugins.module_utils._errors import (
    CmApiError,
    CmConnectionError,
    CmError,
    CmRequestStateError,
)
from ansible_collections.mim.cm.plugins.module_utils._request_model import (
    CHANGE,
    REFUSE,
    decide,
    predicted_facts,
    put_value,
    request_facts,
    status_diff,
    target_status,
)


class Outcome(object):
    """What converging one request did: `changed`, the request's facts now (or as predicted in check mode), and the diff."""

    def __init__(self, changed, request, diff=None):
        self.changed = changed
        self.request = request
        self.diff = diff


def read_request(client, request_id):
    """The request's facts; a clear failure naming the GUID when the server does not know it."""
    api_request = client.get_request(request_id)
    if api_request is None:
        raise CmRequestStateError(
            'request %s was not found: GET %s/requests/%s answered with no request (204, 404 or an empty body). '
            'Check the GUID; if every request is "not found", check url and that the CM REST API is enabled.'
            % (request_id, client.base_path, request_id),
            request_id=request_id,
        )
    return request_facts(api_request)


def converge_request(client, request_id, target, check_mode=False):
    """Make the request with GUID `request_id` reach `target` (completed, canceled, abandoned)."""
    before = read_request(client, request_id)
    action, reason = decide(before['status_code'], target)
    if action == REFUSE:
        raise CmRequestStateError('request %s: %s; nothing was changed' % (request_id, reason), request_id=request_id, request=before)
    if action != CHANGE:
        return Outcome(False, before)

    if check_mode:
        after = predicted_facts(before, target)
        return Outcome(True, after, status_diff(before, after))

    try:
        api_request = client.set_request_status(request_id, put_value(target))
    except CmError as error:
        error.details.setdefault('request', before)  # the failure still shows the request as it was read
        raise
    after = request_facts(api_request) if api_request is not None else read_request(client, request_id)
    if after['status'] != target_status(target):
        raise CmRequestStateError(
            'request %s: the server accepted the change to %s, but the request is now %s (status %s), not %s'
            % (request_id, target, after['status'], after['status_code'], target_status(target)),
            request_id=request_id,
            request=after,
        )
    return Outcome(True, after, status_diff(before, after))


class BatchOutcome(object):
    """What converging a list of requests did, in the order of the list."""

    def __init__(self):
        self.requests = []
        self.changed_ids = []
        self.failures = []
        self.diff = {'before': {}, 'after': {}}

    @property
    def changed(self):
        return bool(self.changed_ids)

    def add(self, request_id, outcome):
        self.requests.append(outcome.request)
        if outcome.changed:
            self.changed_ids.append(request_id)
            self.diff['before'][request_id] = outcome.diff['before']
            self.diff['after'][request_id] = outcome.diff['after']

    def add_failure(self, request_id, error):
        self.failures.append({'id': request_id, 'msg': error.message})
        if error.details.get('request'):
            self.requests.append(error.details['request'])


def _stops_the_batch(error):
    """Errors that every other request would hit too: no connection, TLS, or a refused login."""
    return isinstance(error, CmConnectionError) or (isinstance(error, CmApiError) and error.status_code == 401)


def converge_requests(client, request_ids, target, check_mode=False):
    """Make every request of `request_ids` (GUIDs, already folded) reach `target`.

    A request that cannot get there does not stop the others; its failure is recorded.
    """
    batch = BatchOutcome()
    for request_id in request_ids:
        try:
            batch.add(request_id, converge_request(client, request_id, target, check_mode))
        except CmError as error:
            if _stops_the_batch(error):
                # Report what was already done before giving up on the rest.
                error.details.update(changed=batch.changed, changed_ids=batch.changed_ids, requests=batch.requests)
                raise
            batch.add_failure(request_id, error)
    return batch
