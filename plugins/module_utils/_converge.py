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

from ansible_collections.mim.cm.plugins.module_utils._errors import CmRequestStateError
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
        raise CmRequestStateError('request %s: %s; nothing was changed' % (request_id, reason), request_id=request_id)
    if action != CHANGE:
        return Outcome(False, before)

    if check_mode:
        after = predicted_facts(before, target)
        return Outcome(True, after, status_diff(before, after))

    api_request = client.set_request_status(request_id, put_value(target))
    after = request_facts(api_request) if api_request is not None else read_request(client, request_id)
    if after['status'] != target_status(target):
        raise CmRequestStateError(
            'request %s: the server accepted the change to %s, but the request is now %s (status %s), not %s'
            % (request_id, target, after['status'], after['status_code'], target_status(target)),
            request_id=request_id,
        )
    return Outcome(True, after, status_diff(before, after))
