"""The admin side door under /_emulator/: test control without authentication, never in the exchange log.
Add a route here for each new switch.
"""

import re
import threading

from .common import ADMIN_ROOT, json_or_none, log
from .faults import FaultError, parse_fault_rules
from .replies import json_reply, message_reply, no_content
from .store import ChangeRefused, SeedError, STATUS_NAMES


class InFlight:
    """How many API exchanges are being handled right now (a stalled one counts until it is done)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._count = 0

    def __enter__(self):
        with self._lock:
            self._count += 1

    def __exit__(self, *exc_info):
        with self._lock:
            self._count -= 1

    @property
    def count(self):
        """The current number."""
        with self._lock:
            return self._count


class AdminDoor:
    """Test-only routes under /_emulator/ (loopback only, no authentication, not in exchanges.jsonl)."""

    def __init__(self, store, faults, in_flight, exchanges=None):
        self.store = store
        self.faults = faults
        self.in_flight = in_flight
        self.exchanges = exchanges
        # (method, path template under /_emulator/, handler): the documented contract (docs: the admin API), checked
        # against the guide by a test. {id} is one path segment, passed to the handler.
        self.routes = [
            ("GET", "requests", self.list_requests),
            ("GET", "requests/{id}", self.get_request),
            ("POST", "requests", self.seed_request),
            ("POST", "requests/{id}/approve", self.approve),
            ("POST", "requests/{id}/deny", self.deny),
            ("POST", "requests/{id}/execute", self.execute),
            ("POST", "reset", self.reset),
            ("GET", "faults", self.list_faults),
            ("POST", "faults", self.add_faults),
            ("DELETE", "faults", self.clear_faults),
            ("GET", "in-flight", self.count_in_flight),
            ("GET", "exchanges", self.list_exchanges),
        ]
        self._patterns = [re.compile(re.escape(template).replace(re.escape("{id}"), "([^/]+)") + "/?") for _method, template, _action in self.routes]

    def handle(self, method, path, body=b""):
        """Answer one admin call: the first route whose method and pattern match."""
        subpath = path[len(ADMIN_ROOT):]
        for (route_method, _template, action), pattern in zip(self.routes, self._patterns):
            match = pattern.fullmatch(subpath)
            if match and route_method == method:
                return action(*match.groups(), body=body)
        return message_reply(404, f"No emulator admin route {method} {path}.")

    def list_requests(self, **_unused):
        """GET /_emulator/requests: every stored request."""
        return json_reply(200, self.store.all())

    def get_request(self, guid, **_unused):
        """GET /_emulator/requests/{id}: one request, 404 if unknown."""
        request = self.store.get(guid)
        return json_reply(200, request) if request else message_reply(404, f"No request {guid}.")

    def seed_request(self, body, **_unused):
        """POST /_emulator/requests: store one request given as in the seed (Uuid made up if absent); 201 with it."""
        value = json_or_none(body)
        try:
            request = self.store.add(value)
        except SeedError as error:
            taken = "exists already" in str(error)
            return message_reply(409 if taken else 400, f"Invalid request: {error}")
        log(f"request seeded: {request['Uuid']} ({STATUS_NAMES.get(request['Status'], request['Status'])})")
        return json_reply(201, request)

    def approve(self, guid, **_unused):
        """POST /_emulator/requests/{id}/approve: as an approver in the CM portal, Pending -> Approved."""
        return self.portal_action(guid, ("Pending",), "Approved")

    def deny(self, guid, **_unused):
        """POST /_emulator/requests/{id}/deny: as an approver in the CM portal, Pending -> Denied."""
        return self.portal_action(guid, ("Pending",), "Denied")

    def execute(self, guid, body, **_unused):
        """POST /_emulator/requests/{id}/execute: the enrollment starts, Approved -> Executing; with {"complete": true}
        it also ends, Approved or Executing -> Completed."""
        value = json_or_none(body) if body else {}
        complete = value.get("complete", False) if isinstance(value, dict) else None
        if not isinstance(complete, bool) or set(value) - {"complete"}:
            return message_reply(400, 'The body must be empty or {"complete": true or false}.')
        if complete:
            return self.portal_action(guid, ("Approved", "Executing"), "Completed")
        return self.portal_action(guid, ("Approved",), "Executing")

    def portal_action(self, guid, allowed, result):
        """Change a request as the portal would: 200 with it; 404 for no such request; 409 from another status."""
        try:
            request = self.store.portal_action(guid, allowed, result)
        except ChangeRefused as refusal:
            return message_reply(409, f"Cannot make the request {result}: {refusal}.")
        if request is None:
            return message_reply(404, f"No request {guid}.")
        log(f"request {request['Uuid']} is now {result} (admin door, as the CM portal)")
        return json_reply(200, request)

    def reset(self, **_unused):
        """POST /_emulator/reset: back to the seed, and no fault rules."""
        self.store.reset()
        self.faults.clear()
        return no_content()

    def list_faults(self, **_unused):
        """GET /_emulator/faults: the rules in order, with their counts."""
        return json_reply(200, self.faults.describe())

    def add_faults(self, body, **_unused):
        """POST /_emulator/faults: append one rule or a list of rules (all or none); answer with every rule."""
        value = json_or_none(body)
        try:
            if value is None:
                raise FaultError("the body must be a fault rule (a JSON object) or a list of them")
            rules = parse_fault_rules(value)
        except FaultError as error:
            return message_reply(400, f"Invalid fault rule: {error}")
        self.faults.add(rules)
        log(f"fault rules added: {', '.join(rule.summary() for rule in rules) or 'none'}")
        return json_reply(200, self.faults.describe())

    def clear_faults(self, **_unused):
        """DELETE /_emulator/faults: forget every rule."""
        self.faults.clear()
        return no_content()

    def list_exchanges(self, **_unused):
        """GET /_emulator/exchanges: the exchange log (exchanges.jsonl) as a JSON array."""
        return json_reply(200, self.exchanges.records())

    def count_in_flight(self, **_unused):
        """GET /_emulator/in-flight: API exchanges being handled now (a stalled one counts until it is answered)."""
        return json_reply(200, {"in_flight": self.in_flight.count})
