# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""Wait, with a deadline, while requests stay in some statuses: a person approves in the CM portal, a card client executes.

There is no call that says "tell me when this changes", so the engine polls. One round costs one search per
waiting status, then one GET for each request that those searches no longer return (to learn where it went):
never one GET per waiting request per round, so a hundred requests waiting cost what one costs.

The deadline holds whatever happens on the wire: rounds start no later than `timeout` after the start, a call
starts no later than one `interval` after that, and the client's own retries are off while polling (a failed
round is simply tried again at the next round). So the whole wait ends within timeout + one interval + one
call's timeout. Nothing is warned per round: the caller reports the outcome once.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Callable, Dict, FrozenSet, List, NamedTuple, Optional

from ansible_collections.mim.cm.plugins.module_utils._errors import CmInputError, CmRequestStateError, CmTransientError
from ansible_collections.mim.cm.plugins.module_utils._request_model import STATUS_CODES, request_facts

# The one place for the waiting defaults of every module: a person approving in the portal takes minutes, not seconds.
DEFAULT_WAIT_TIMEOUT = 600
DEFAULT_WAIT_INTERVAL = 10.0

# The happy path of a request: Pending -> Approved -> Executing -> Completed. Waiting for a status means waiting
# while the request is on the path before it; a request already further along has passed it (it was approved).
HAPPY_PATH = ('Pending', 'Approved', 'Executing', 'Completed')


class WaitResult(NamedTuple):
    settled: Dict[str, dict]        # request id (lower-case GUID) -> facts, once its status left `waiting`
    still_waiting: Dict[str, dict]  # id -> last facts seen, for those that timed out
    waited_seconds: float
    rounds: int


def wait_while_in(client, request_ids: List[str], waiting: FrozenSet[str], timeout: float, interval: float,
                  known: Optional[Dict[str, dict]] = None,
                  clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> WaitResult:
    """Poll until every request of `request_ids` has left the statuses `waiting` (names, e.g. {'Pending'}) or time is up.

    `known` holds facts the caller has just read: a request known to be outside `waiting` is settled without a
    call, and when every request is known the first round waits one interval instead of asking again at once.
    A request the server no longer knows is a CmRequestStateError; so is any non-transient API error (raised as is).
    """
    _check_arguments(waiting, timeout, interval)
    ids = list(dict.fromkeys(request_ids))
    last = {}  # type: Dict[str, dict]
    settled = {}  # type: Dict[str, dict]
    for request_id in ids:
        facts = (known or {}).get(request_id)
        if facts is not None:
            last[request_id] = facts
            if facts.get('status') not in waiting:
                settled[request_id] = facts

    start = clock()
    deadline = start + timeout
    # No call starts after this: the one interval of slack lets a round begun before the deadline finish.
    cutoff = deadline + interval
    rounds = 0
    poll_now = any(request_id not in last for request_id in ids)
    with _polling_without_client_retries(client):
        while len(settled) < len(ids):
            if not poll_now:
                now = clock()
                if now >= deadline:
                    break
                sleep(min(interval, deadline - now))
            poll_now = False
            rounds += 1
            try:
                _poll_round(client, [i for i in ids if i not in settled], waiting, last, settled, clock, cutoff)
            except CmTransientError as error:
                if clock() >= deadline:
                    error.message = ('%s (while waiting for %d request(s) to leave %s, after %.1f s and %d round(s))'
                                     % (error.message, len(ids) - len(settled), '/'.join(sorted(waiting)), clock() - start, rounds))
                    raise
                # Not now: the next round asks again, within the deadline.

    still_waiting = dict((i, last[i]) for i in ids if i not in settled and i in last)
    return WaitResult(settled=dict((i, settled[i]) for i in ids if i in settled), still_waiting=still_waiting,
                      waited_seconds=max(0.0, clock() - start), rounds=rounds)


def _check_arguments(waiting, timeout, interval):
    unknown = sorted(set(waiting) - set(STATUS_CODES))
    if not waiting or unknown:
        raise CmInputError('cannot wait while requests are in %s: status names are %s' % (sorted(waiting), ', '.join(sorted(STATUS_CODES))))
    check_timing(timeout, interval)


def check_timing(timeout, interval):
    """Refuse a wait_timeout or wait_interval that cannot work, before any traffic."""
    if timeout is None or timeout < 0:
        raise CmInputError('wait_timeout must be 0 or more seconds, not %r' % (timeout,))
    if interval is None or not interval > 0:
        # Zero would poll the server as fast as it answers.
        raise CmInputError('wait_interval must be more than 0 seconds, not %r' % (interval,))


def _poll_round(client, request_ids, waiting, last, settled, clock, cutoff):
    """One round: a search per waiting status, then a GET for each request the searches did not return."""
    wanted = set(request_ids)
    seen = set()
    for status in sorted(waiting):
        if clock() > cutoff:
            return
        for api_request in client.search_requests(status=status):
            request_id = str(api_request.get('Uuid', '')).lower()
            if request_id in wanted:
                last[request_id] = request_facts(api_request)
                seen.add(request_id)
    for request_id in request_ids:
        if request_id in seen:
            continue
        if clock() > cutoff:
            return  # not read in time: it stays among those still waiting, as last seen
        api_request = client.get_request(request_id)
        if api_request is None:
            raise CmRequestStateError(
                'request %s was not found while waiting for it to leave %s: GET %s answered with no request'
                % (request_id, '/'.join(sorted(waiting)), client.api_path('requests/%s' % request_id)),
                request_id=request_id, request=last.get(request_id))
        facts = request_facts(api_request)
        last[request_id] = facts
        if facts['status'] not in waiting:
            settled[request_id] = facts


@contextmanager
def _polling_without_client_retries(client):
    """Turn the client's retries of a failed GET off while polling: the next round is the retry, within the deadline.

    The client's own retries would sleep with backoff and warn each time, past any deadline.
    """
    policy = getattr(client, 'retry', None)
    saved = getattr(policy, 'retries', None)
    if saved is None:
        yield
        return
    policy.retries = 0
    try:
        yield
    finally:
        policy.retries = saved


def statuses_before(milestone: str) -> FrozenSet[str]:
    """The statuses a request waits in until it reaches `milestone` (a status of HAPPY_PATH, any case)."""
    position = [status.lower() for status in HAPPY_PATH].index(milestone.lower())
    return frozenset(HAPPY_PATH[:position])


def statuses_reached(milestone: str) -> FrozenSet[str]:
    """The statuses that mean a request has reached `milestone`: it, or further along the happy path."""
    position = [status.lower() for status in HAPPY_PATH].index(milestone.lower())
    return frozenset(HAPPY_PATH[position:])


def wait_until_reached(client, requests: List[dict], milestone: str, timeout: float, interval: float, check_mode: bool = False,
                       clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
    """Wait until every request (facts) has reached `milestone` without changing any: return (their facts now, WaitResult).

    Fails (CmRequestStateError, with `requests` and `waited_seconds` in its details) when a request ends elsewhere
    (Denied, Canceled, Failed: it never will) or when time is up, saying how long it waited and where each stands.
    Check mode does not wait: it returns the requests as they are and fails only for those that ended elsewhere.
    """
    reached = statuses_reached(milestone)
    waiting = statuses_before(milestone)
    target = [status for status in HAPPY_PATH if status.lower() == milestone.lower()][0]
    ids = [facts['uuid'] for facts in requests]
    known = dict((facts['uuid'], facts) for facts in requests)
    if check_mode:
        result = WaitResult(settled=dict((i, f) for i, f in known.items() if f.get('status') not in waiting),
                            still_waiting=dict((i, f) for i, f in known.items() if f.get('status') in waiting),
                            waited_seconds=0.0, rounds=0)
    else:
        result = wait_while_in(client, ids, waiting, timeout, interval, known=known, clock=clock, sleep=sleep)
    now = [result.settled.get(i) or result.still_waiting.get(i) or known[i] for i in ids]
    details = dict(requests=now, waited_seconds=round(result.waited_seconds, 3), wait_rounds=result.rounds)

    elsewhere = [facts for facts in now if facts['uuid'] in result.settled and facts.get('status') not in reached]
    if elsewhere:
        raise CmRequestStateError(
            '%s never will be %s: %s%s' % (_count(elsewhere), target, _where(elsewhere, 'is'), _after(result)), **details)
    if result.still_waiting and not check_mode:
        late = [facts for facts in now if facts['uuid'] in result.still_waiting]
        raise CmRequestStateError(
            'gave up waiting for %s to be %s after %.1f s (wait_timeout %g, %d round(s)): %s. Nothing was changed; '
            'run again to wait longer, or raise wait_timeout'
            % (_count(late), target, result.waited_seconds, timeout, result.rounds, _where(late, 'is still')), **details)
    return now, result


def _count(requests):
    return '1 request' if len(requests) == 1 else '%d requests' % len(requests)


def _where(requests, verb, limit=10):
    """request <guid> is Denied (submitted <when>); ... at most `limit` of them."""
    shown = []
    for facts in requests[:limit]:
        status = facts.get('status') or 'in status number %s' % facts.get('status_code')
        shown.append('request %s %s %s (submitted %s)' % (facts['uuid'], verb, status, facts.get('submitted') or 'at an unknown time'))
    if len(requests) > limit:
        shown.append('and %d more' % (len(requests) - limit))
    return '; '.join(shown)


def _after(result):
    return ' (after waiting %.1f s)' % result.waited_seconds if result.rounds else ''
