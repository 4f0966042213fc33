# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""Bring one request to a target status: read it, decide, change it only when needed, verify.

The flow of docs/docsite/rst/architecture.rst ("The flow of one task"): client (GET) -> request model (decide) -> client (PUT) -> facts.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, NamedTuple, Optional

from ansible_collections.mim.cm.plugins.module_utils._errors import (
    CmApiError,
    CmConnectionError,
    CmError,
    CmRequestStateError,
    CmTransientError,
)
from ansible_collections.mim.cm.plugins.module_utils._request_model import (
    CHANGE,
    REFUSE,
    decide,
    predicted_facts,
    put_value,
    request_facts,
    search_statuses,
    status_diff,
    target_status,
)
from ansible_collections.mim.cm.plugins.module_utils._workers import (
    DEFAULT_WORKERS,
    ClientPool,
    StopFlag,
    check_workers,
    map_in_order,
)

# How a list's states are learnt (the read_strategy option; its default first).
READ_STRATEGIES = ('auto', 'search', 'get')
DEFAULT_READ_STRATEGY = READ_STRATEGIES[0]


Facts = Dict[str, Any]  # a request's facts (_request_model.request_facts)


class Outcome(NamedTuple):
    """What converging one request did: `changed`, the request's facts now (or as predicted in check mode), and the diff."""

    changed: bool
    request: Facts
    diff: Optional[Dict[str, Any]] = None


def read_request(client, request_id):
    """The request's facts; a clear failure naming the GUID when the server does not know it."""
    api_request = client.get_request(request_id)
    if api_request is None:
        raise CmRequestStateError(
            'request %s was not found: GET %s answered with no request (204, 404 or an empty body). '
            'Check the GUID; if every request is "not found", check url and that the CM REST API is enabled.'
            % (request_id, client.api_path('requests/%s' % request_id)),
            request_id=request_id,
        )
    return request_facts(api_request)


class Change(NamedTuple):
    """What a PUT did: the request's facts after it, and whether this run changed it."""

    request: Facts
    changed: bool


def _change(client: Any, request_id: str, target: str, before: Facts) -> Change:
    """PUT the change, through the client's one retry mechanism.

    A PUT is never repeated blindly. When its answer is lost (dropped connection, timeout, 502/503/504,
    a garbled or untrusted body), `settle` reads the request first: already at the target means the change
    was made; still changeable means the PUT is sent again (within `retries`); anything else is a failure.
    When the server refuses (500) but the request shows the target, someone else got there first.
    """
    call = 'PUT %s' % client.api_path('requests/%s' % request_id)
    answer_lost = []  # one entry per lost answer

    def put() -> Change:
        api_request = client.set_request_status(request_id, put_value(target))
        return Change(request_facts(api_request) if api_request is not None else read_request(client, request_id), True)

    def settle(error: CmTransientError, tried: int, exhausted: bool) -> Optional[Change]:
        answer_lost.append(error)
        now = read_request(client, request_id)
        if now['status'] == target_status(target):
            client.warn('%s: %s, but the request is now %s: the change was applied' % (call, error.reason, now['status']))
            return Change(now, True)
        if decide(now['status_code'], target)[0] != CHANGE or exhausted:
            raise CmRequestStateError(
                'request %s: %s failed (%s)%s and the request is now %s (status %s)'
                % (request_id, call, error.reason, ' after %d attempts' % tried if tried > 1 else '',
                   now['status'], now['status_code']),
                request_id=request_id, request=now,
            )
        return None  # still changeable: the PUT is sent again

    try:
        return client.retrying(call, put, settle)
    except CmApiError as error:
        if error.status_code == 500:
            now = read_request(client, request_id)
            if now['status'] == target_status(target):
                if not answer_lost:
                    client.warn('%s was refused (%s), but the request is already %s: someone else got there first'
                                % (call, error.server_message or 'HTTP 500', now['status']))
                return Change(now, bool(answer_lost))
        error.details.setdefault('request', before)  # the failure still shows the request as it was read
        raise


def converge_request(client, request_id, target, check_mode=False, known=None):
    """Make the request with GUID `request_id` reach `target` (completed, canceled, abandoned).

    `known` is the request's API object when a search already returned it; otherwise it is read.
    """
    before = request_facts(known) if known is not None else read_request(client, request_id)
    action, reason = decide(before['status_code'], target)
    if action == REFUSE:
        raise CmRequestStateError('request %s: %s; nothing was changed' % (request_id, reason), request_id=request_id, request=before)
    if action != CHANGE:
        return Outcome(False, before)

    if check_mode:
        after = predicted_facts(before, target)
        return Outcome(True, after, status_diff(before, after))

    after, changed = _change(client, request_id, target, before)  # a Change
    if not changed:
        return Outcome(False, after)
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
        self.diff: Dict[str, Dict[str, Any]] = {'before': {}, 'after': {}}
        # The error every other request would have met too (no connection, TLS, a refused login), when one stopped the list.
        self.stopped_by: Optional[CmError] = None

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


def should_search(read_strategy, count):
    """Whether to learn the states of `count` requests from searches first (see docs/performance.md for the crossover)."""
    if read_strategy == 'auto':
        return count >= SEARCH_THRESHOLD
    return read_strategy == 'search'


# From this many ids on, `auto` reads states with one search per relevant status instead of one GET per request.
# Measured in docs/performance.md: with a backlog of 10,000 Approved requests the searches only pay off from ~200 ids,
# with a small backlog from a few ids; 100 keeps the worst case of either small.
SEARCH_THRESHOLD = 100


def search_states(client, request_ids, target):
    """The API objects of the listed requests that are in a status that matters for `target`, by GUID (lower case).

    Requests the searches do not return (another status, or unknown) are read one by one afterwards.
    """
    wanted = set(request_ids)
    found = {}
    for status in search_statuses(target):
        for api_request in client.search_requests(status=status):
            request_id = str(api_request.get('Uuid', '')).lower()
            if request_id in wanted:
                found[request_id] = api_request
    return found


def converge_requests(client: Any, request_ids: List[str], target: str, check_mode: bool = False,
                      workers: int = DEFAULT_WORKERS, new_client: Optional[Callable[[], Any]] = None,
                      read_strategy: str = DEFAULT_READ_STRATEGY) -> 'BatchOutcome':
    """Make every request of `request_ids` (GUIDs, already folded) reach `target`.

    Up to `workers` requests are handled at once, each worker with a client of its own (`new_client`
    makes the extra ones). A request that cannot get there does not stop the others; its failure is
    recorded. An error every request would meet (no connection, TLS, a refused login) stops the rest:
    the batch then holds what was done before, and the error in `stopped_by`.
    """
    check_workers(workers)
    known = search_states(client, request_ids, target) if should_search(read_strategy, len(request_ids)) else {}
    pool = ClientPool(client, new_client, workers)
    stop = StopFlag()

    def work(request_id):
        if stop.is_set():
            return None
        worker_client = pool.borrow()
        try:
            return converge_request(worker_client, request_id, target, check_mode, known=known.get(request_id))
        except CmError as error:
            if _stops_the_batch(error):
                stop.set(error)
            return error
        finally:
            pool.give_back(worker_client)

    try:
        results = map_in_order(work, request_ids, workers)
    finally:
        pool.close()

    batch = BatchOutcome()
    for request_id, result in zip(request_ids, results):
        if isinstance(result, Outcome):
            batch.add(request_id, result)
        elif result is not None and result is not stop.error:
            batch.add_failure(request_id, result)
    batch.stopped_by = stop.error
    return batch
