"""An emulator of the MIM CM (Certificate Management) REST API, for tests and demos.

A real HTTP/1.1 server on loopback: keep-alive connections served by threads, real NTLM
authentication (a pyspnego acceptor per TCP connection, users from the NTLM_USER_FILE file) and
HTTP Negotiate (SPNEGO: Kerberos with a keytab, or NTLM inside it; --auth chooses what is offered),
TLS with a throw-away trustme CA and channel binding checks, the documented routes, codes,
JSON shapes and enum numbers, per-user permissions, a JSON-lines log of every API exchange, and
deterministic fault injection (resets, error statuses, stalls, broken bodies) for reliability tests,
and hostile-server faults (redirects, trickled, oversized or endless bodies, any raw answer).

Written from the project's notes on the API (cm-api.md); see docs/emulator.md for how to run it.
Start it with ``python cm_emulator.py --state-dir DIR``: it prints its base URL as the first
line on stdout and writes everything else to stderr.
"""

import argparse
import base64
import binascii
import copy
import datetime
import html
import http
import http.server
import ipaddress
import itertools
import json
import os
import random
import re
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import uuid
from urllib.parse import parse_qsl, unquote, urlsplit

import spnego
import spnego.exceptions
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from spnego.channel_bindings import GssChannelBindings

try:  # pyspnego's SPNEGO token parser, to see which mechanism a Negotiate token carries (and its NTLM bindings)
    from spnego._spnego import NegTokenInit, NegTokenResp, unpack_token
except ImportError:  # pragma: no cover - a pyspnego without it still serves NTLM
    NegTokenInit = NegTokenResp = unpack_token = None

# GSS_C_CHANNEL_BOUND_FLAG: MIT krb5 (1.19+) sets it on an accepted context whose channel bindings matched.
GSS_C_CHANNEL_BOUND_FLAG = 2048
# What --auth offers in WWW-Authenticate, in this order (IIS lists Negotiate first).
AUTH_SCHEMES = {"ntlm": ("NTLM",), "negotiate": ("Negotiate",), "both": ("Negotiate", "NTLM")}

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SEED = os.path.join(HERE, "seed.json")
DEFAULT_USERS = os.path.join(HERE, "users.txt")

APP_ROOT = "/CertificateManagement"
API_ROOT = APP_ROOT + "/api/"
API_V1 = API_ROOT + "v1.0/"
ADMIN_ROOT = "/_emulator/"

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html"
ZERO_GUID = "00000000-0000-0000-0000-000000000000"
NOT_COMPLETED = "0001-01-01T00:00:00"
SDDL_PADDING = "\u0000" * 4
DEFAULT_SDDL = (
    "O:S-1-5-21-1004336348-1177238915-682003330-512G:S-1-5-21-1004336348-1177238915-682003330-513"
    "D:(A;;CCLCSWRPWPDTLOCRRC;;;S-1-5-21-1004336348-1177238915-682003330-512)(A;;LCRPCR;;;AU)"
)

# RequestStatus numbers (cm-api.md): names go in as strings, numbers come out.
STATUS = {"None": 0, "Approved": 3, "Denied": 4, "Completed": 8, "Failed": 9, "Pending": 16, "Canceled": 17, "Executing": 18}
STATUS_NAMES = {number: name for name, number in STATUS.items()}
# RequestType names with a known number; other numbers may be seeded and are shown as they are.
REQUEST_TYPES = {"Enroll": 1, "Unblock": 5}

# PUT {"status": X}: X -> (statuses it may start from, status it leaves). Everything else is refused.
TRANSITIONS = {
    "Completed": ((STATUS["Approved"], STATUS["Executing"]), STATUS["Completed"]),
    "Canceled": ((STATUS["Pending"], STATUS["Approved"], STATUS["Executing"]), STATUS["Canceled"]),
    "Abandoned": ((STATUS["Approved"], STATUS["Executing"]), STATUS["Failed"]),
}

# The Request object: key, kind, default (the .NET default where the docs say nothing), in API order.
REQUEST_FIELDS = (
    ("Uuid", "guid", None),
    ("RequestType", "int", 0),
    ("Status", "int", 0),
    ("Flags", "int", 0),
    ("DataCollection", "datacollection", ()),
    ("DataCollectionFlags", "int", 0),
    ("OriginatorUserUuid", "guid", ZERO_GUID),
    ("TargetUserUuid", "guid", ZERO_GUID),
    ("Submitted", "date", NOT_COMPLETED),
    ("Completed", "date", NOT_COMPLETED),
    ("NewProfileUuid", "guid", ZERO_GUID),
    ("OldProfileUuid", "guid", ZERO_GUID),
    ("NewSmartcardUuid", "guid", ZERO_GUID),
    ("OldSmartcardUuid", "guid", ZERO_GUID),
    ("Priority", "byte", 0),
    ("Comment", "str", ""),
    ("ProfileTemplateUuid", "guid", ZERO_GUID),
    ("SecurityDescriptor", "sddl", DEFAULT_SDDL),
    ("IsSmartcard", "bool", False),
    ("IsEnrollmentAgent", "bool", False),
    ("IsDataCollectionComplete", "bool", False),
)
FIELD_NAMES = tuple(name for name, _kind, _default in REQUEST_FIELDS)

UNAUTHORIZED_HTML = (
    "<!DOCTYPE html>\r\n<html><head><title>401 - Unauthorized: Access is denied due to invalid credentials.</title></head>\r\n"
    "<body><h1>Server Error</h1><h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2>\r\n"
    "<h3>You do not have permission to view this directory or page using the credentials that you supplied.</h3></body></html>\r\n"
).encode("ascii")


def log(text):
    """Write one diagnostic line to stderr (stdout carries only the URL)."""
    sys.stderr.write(text.rstrip("\n") + "\n")
    sys.stderr.flush()


def utc_now_text(offset_seconds=0):
    """The current UTC time (plus an offset) as the server writes it: 2026-11-21T06:30:12.345Z."""
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


RELATIVE_TIME = re.compile(r"now((?:\s*[+-]\s*\d+\s*[dhms])*)", re.IGNORECASE)
TIME_OFFSET = re.compile(r"([+-])\s*(\d+)\s*([dhms])", re.IGNORECASE)
UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def resolve_seed_time(value):
    """A seeded date as written, or for "now", "now-30d-5m", "now+2h" ... that time at start-up."""
    match = RELATIVE_TIME.fullmatch(value.strip())
    if not match:
        return value
    offsets = TIME_OFFSET.findall(match.group(1))
    return utc_now_text(sum((1 if sign == "+" else -1) * int(number) * UNIT_SECONDS[unit.lower()] for sign, number, unit in offsets))


def guid_key(text):
    """The lookup key of a GUID written in any case or .NET format; None if it is not a GUID."""
    if not isinstance(text, str):
        return None
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError:
        return None


def lower_keys(obj):
    """A JSON object's keys folded to lower case (ASP.NET binds JSON keys case-insensitively)."""
    return {str(key).lower(): value for key, value in obj.items()}


# --------------------------------------------------------------------------------------------
# Seed data and the request model
# --------------------------------------------------------------------------------------------

class SeedError(ValueError):
    """The seed file (or a request in it) is not valid."""


def _check_field(name, kind, value, where):
    """Validate one seeded field and return the value to store."""
    if kind == "guid":
        if guid_key(value) is None:
            raise SeedError(f"{where}: {name} must be a GUID, not {value!r}")
        return value
    if kind in ("int", "byte"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SeedError(f"{where}: {name} must be an integer, not {value!r}")
        if kind == "byte" and not 0 <= value <= 255:
            raise SeedError(f"{where}: {name} must be 0-255, not {value!r}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise SeedError(f"{where}: {name} must be true or false, not {value!r}")
        return value
    if kind == "datacollection":
        return _check_data_collection(value, where)
    if not isinstance(value, str):
        raise SeedError(f"{where}: {name} must be a string, not {value!r}")
    if kind == "sddl" and not value.endswith("\u0000"):
        value += SDDL_PADDING
    if kind == "date":
        value = resolve_seed_time(value)
    return value


def _check_data_collection(value, where):
    if not isinstance(value, (list, tuple)):
        raise SeedError(f"{where}: DataCollection must be a list of {{Name, Value}}")
    items = []
    for item in value:
        item = lower_keys(item) if isinstance(item, dict) else {}
        if not isinstance(item.get("name"), str) or not isinstance(item.get("value"), (str, type(None))):
            raise SeedError(f"{where}: every DataCollection item needs a string Name and a string or null Value")
        items.append({"Name": item["name"], "Value": item["value"]})
    return items


def make_request(raw, where="request"):
    """A Request object in API key order from a (possibly partial) PascalCase dict, with defaults."""
    if not isinstance(raw, dict):
        raise SeedError(f"{where}: a request must be a JSON object")
    by_lower = {name.lower(): name for name in FIELD_NAMES}
    given = {}
    for key, value in raw.items():
        name = by_lower.get(key.lower())
        if name is None:
            raise SeedError(f"{where}: unknown field {key!r}; known fields: {', '.join(FIELD_NAMES)}")
        given[name] = value
    if "Uuid" not in given:
        raise SeedError(f"{where}: Uuid is required")
    request = {}
    for name, kind, default in REQUEST_FIELDS:
        value = given.get(name, copy.deepcopy(default))
        request[name] = _check_field(name, kind, value, f"{where} {given['Uuid']}")
    return request


def load_seed(path):
    """Read the seed file: {"users": {name: guid}, "read_only_users": [name], "requests": [...]}."""
    with open(path, encoding="utf-8") as handle:
        seed = json.load(handle)
    if not isinstance(seed, dict):
        raise SeedError(f"{path}: the seed must be a JSON object")
    unknown = [key for key in seed if key not in ("users", "read_only_users", "requests") and not key.startswith("_")]
    if unknown:
        raise SeedError(f"{path}: unknown top-level keys {unknown}")
    users = seed.get("users", {})
    if not isinstance(users, dict) or any(guid_key(value) is None for value in users.values()):
        raise SeedError(f"{path}: users must map DOMAIN\\user to a GUID")
    read_only = seed.get("read_only_users", [])
    if not isinstance(read_only, list) or not all(isinstance(name, str) for name in read_only):
        raise SeedError(f"{path}: read_only_users must be a list of user names")
    requests = seed.get("requests", [])
    if not isinstance(requests, list):
        raise SeedError(f"{path}: requests must be a list")
    return {
        "users": users,
        "read_only_users": read_only,
        "requests": [make_request(raw, f"{path} requests[{index}]") for index, raw in enumerate(requests)],
    }


class ChangeRefused(Exception):
    """The server refuses a status change (answered as a 500 with a correlation ID)."""


class RequestStore:
    """The requests, keyed by lower-case GUID; every method is thread-safe and returns copies."""

    def __init__(self, seed_requests):
        self._seed = [copy.deepcopy(request) for request in seed_requests]
        keys = [guid_key(request["Uuid"]) for request in self._seed]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise SeedError(f"duplicate request GUIDs in the seed: {duplicates}")
        self._lock = threading.Lock()
        self._items = {}
        self.reset()

    def reset(self):
        """Forget every change: back to the seeded requests."""
        with self._lock:
            self._items = {guid_key(request["Uuid"]): copy.deepcopy(request) for request in self._seed}

    def all(self):
        """All requests, in seed order then creation order."""
        with self._lock:
            return [copy.deepcopy(request) for request in self._items.values()]

    def get(self, guid):
        """One request by GUID (any case), or None."""
        with self._lock:
            request = self._items.get(guid_key(guid))
            return copy.deepcopy(request) if request else None

    def search(self, status=None, target_user=None):
        """The requests with this status number and this target user GUID (None: any)."""
        target = guid_key(target_user) if target_user else None
        with self._lock:
            return [
                copy.deepcopy(request)
                for request in self._items.values()
                if (status is None or request["Status"] == status)
                and (target is None or guid_key(request["TargetUserUuid"]) == target)
            ]

    def change_status(self, guid, target):
        """Apply PUT {"status": target} (Completed, Canceled or Abandoned) or raise ChangeRefused."""
        allowed, result = TRANSITIONS[target]
        with self._lock:
            request = self._items.get(guid_key(guid))
            if request is None:
                raise ChangeRefused(f"The request {guid} could not be found.")
            current = request["Status"]
            if current not in allowed:
                name = STATUS_NAMES.get(current, "unknown")
                raise ChangeRefused(
                    f"The request {request['Uuid']} is in the {name} ({current}) state; the operation {target} is not allowed in this state."
                )
            request["Status"] = result
            if target == "Completed":
                request["Completed"] = utc_now_text()
            return copy.deepcopy(request)

    def create(self, fields):
        """Store a new Pending request from API fields; return it."""
        request = make_request(dict(fields, Uuid=str(uuid.uuid4()), Status=STATUS["Pending"], Submitted=utc_now_text()))
        with self._lock:
            self._items[guid_key(request["Uuid"])] = request
            return copy.deepcopy(request)


# --------------------------------------------------------------------------------------------
# Users: names from the NTLM users file, GUIDs from the seed, read-only flags
# --------------------------------------------------------------------------------------------

class UserDirectory:
    """Who may log in (the NTLM_USER_FILE), their GUIDs and who is read-only. Names compare case-insensitively."""

    def __init__(self, users_file, guids, read_only):
        self.names = {}
        with open(users_file, encoding="utf-8") as handle:
            for line in handle:
                fields = line.rstrip("\r\n").split(":")
                if len(fields) != 3:  # pyspnego ignores such lines too (comments, blanks)
                    continue
                name = f"{fields[0]}\\{fields[1]}" if fields[0] else fields[1]
                self.names[name.lower()] = name
        if not self.names:
            raise SeedError(f"{users_file}: no DOMAIN:USER:PASSWORD line")
        self.guids = {name.lower(): value for name, value in guids.items()}
        for key, name in self.names.items():
            if key not in self.guids:
                self.guids[key] = str(uuid.uuid5(uuid.NAMESPACE_URL, "mim-cm-emulator-user:" + key))
                log(f"warning: the seed has no GUID for {name}; using {self.guids[key]}")
        self.read_only = {name.lower() for name in read_only}

    def canonical(self, principal):
        """The user name as the users file writes it, for a principal in any case."""
        return self.names.get(principal.lower(), principal)

    def from_kerberos(self, principal):
        """The user of a Kerberos principal user@REALM: the users-file user of that name, in any domain; else None.

        As Active Directory maps the principal cmadmin@CONTOSO.COM to the account CONTOSO\\cmadmin. The KDC has
        checked the password; the users file only says who the server knows (GUIDs, read-only flags).
        """
        name = principal.rsplit("@", 1)[0].lower() if "@" in principal else principal.lower()
        matches = [canonical for key, canonical in self.names.items() if key.rsplit("\\", 1)[-1] == name]
        return matches[0] if len(matches) == 1 else None

    def guid(self, name):
        """The user's GUID (TargetUserUuid, OriginatorUserUuid, ?targetuser=current)."""
        return self.guids.get(name.lower(), ZERO_GUID)

    def is_read_only(self, name):
        """True for a user who gets 403 on PUT and POST."""
        return name.lower() in self.read_only


# --------------------------------------------------------------------------------------------
# Replies and the API itself (no sockets here: method, path, query, body and user in; Reply out)
# --------------------------------------------------------------------------------------------

class Reply:
    """An HTTP answer: status, body bytes, content type and extra headers.

    applied is True when making this answer changed the stored requests (a PUT or POST that worked).
    """

    def __init__(self, status, body=b"", content_type=JSON_TYPE, headers=(), applied=False):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = list(headers)
        self.applied = applied


def json_reply(status, value, headers=()):
    """A compact JSON answer, as ASP.NET Web API writes it."""
    return Reply(status, json.dumps(value, separators=(",", ":")).encode("utf-8"), headers=headers)


def message_reply(status, message):
    """An error answer in ASP.NET Web API's shape: {"Message": ...}."""
    return json_reply(status, {"Message": message})


def no_content():
    """204: no body, no Content-Type."""
    return Reply(204)


class ApiError(Exception):
    """Stops handling an API call and answers with the reply it carries."""

    def __init__(self, reply):
        super().__init__(reply.status)
        self.reply = reply


def bad_request(detail):
    """An ApiError answering 400 with a Message."""
    return ApiError(message_reply(400, f"The request is invalid. {detail}"))


class CMApi:
    """The /CertificateManagement/api/v1.0/ routes, with the behaviour switches from the command line."""

    def __init__(self, store, users, options):
        self.store = store
        self.users = users
        self.unknown_request = options.unknown_request
        self.empty_search = options.empty_search
        self.put_response = options.put_response
        self.api_disabled = options.api_disabled

    def handle(self, method, path, query, body, user, base_url):
        """Answer one authenticated API call. path is the URL path, base_url is scheme://host[:port]."""
        not_found = message_reply(
            404, f"No HTTP resource was found that matches the request URI '{base_url}{path}{'?' + query if query else ''}'."
        )
        lowered = path.lower()
        if self.api_disabled or not lowered.startswith(API_V1.lower()):
            return not_found
        route = lowered[len(API_V1):].rstrip("/").split("/")
        if route[0] != "requests" or len(route) > 2:
            return not_found
        routes = {"GET": self.search, "POST": self.create} if len(route) == 1 else {"GET": self.get, "PUT": self.change}
        action = routes.get(method)
        if action is None:
            return message_reply(405, f"The requested resource does not support http method '{method}'.")
        args = {"query": query, "body": body, "user": user, "base_url": base_url}
        if len(route) == 2:
            args["guid"] = path.rstrip("/").rsplit("/", 1)[1]
            if guid_key(args["guid"]) is None:
                return message_reply(400, f"The request is invalid. '{args['guid']}' is not a valid value for the parameter 'id' of type 'System.Guid'.")
        try:
            return action(**args)
        except ApiError as error:
            return error.reply

    def get(self, guid, user, **_unused):
        """GET requests/{id}"""
        request = self.store.get(guid)
        if request is not None:
            return json_reply(200, request)
        if self.unknown_request == "404":
            return message_reply(404, f"The request {guid} could not be found.")
        if self.unknown_request == "403":
            return message_reply(403, f"The user {user} does not have permission to read the request {guid}.")
        return no_content()

    def search(self, query, user, **_unused):
        """GET requests?status=S&targetuser=current"""
        params = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            params.setdefault(key.lower(), value)
        status = None
        if params.get("status"):
            status = {name.lower(): number for name, number in STATUS.items()}.get(params["status"].lower())
            if status is None:
                raise bad_request(f"The value '{params['status']}' is not valid for status; use one of {', '.join(STATUS)}.")
        target = None
        if params.get("targetuser"):
            if params["targetuser"].lower() != "current":
                raise bad_request(f"The value '{params['targetuser']}' is not valid for targetuser; only 'current' is supported.")
            target = self.users.guid(user)
        found = self.store.search(status, target)
        if not found and self.empty_search == "204":
            return no_content()
        return json_reply(200, found)

    def change(self, guid, body, user, **_unused):
        """PUT requests/{id} {"status": "Completed" | "Canceled" | "Abandoned"}"""
        fields = lower_keys(parse_json_object(body))
        value = fields.get("status")
        target = {name.lower(): name for name in TRANSITIONS}.get(value.lower()) if isinstance(value, str) else None
        if target is None:
            raise bad_request(f"The body needs \"status\": one of {', '.join(TRANSITIONS)}; got {json.dumps(value)}.")
        self.check_writer(user, f"change the request {guid}")
        try:
            request = self.store.change_status(guid, target)
        except ChangeRefused as refusal:
            return server_error(str(refusal))
        reply = no_content() if self.put_response == "204" else json_reply(200, request)
        reply.applied = True
        return reply

    def create(self, body, user, base_url, **_unused):
        """POST requests {profiletemplateuuid, datacollection, target, type, comment, priority}"""
        fields = lower_keys(parse_json_object(body))
        template = fields.get("profiletemplateuuid")
        if guid_key(template) is None:
            raise bad_request("profiletemplateuuid must be a GUID.")
        type_name = fields.get("type")
        type_number = {name.lower(): number for name, number in REQUEST_TYPES.items()}.get(type_name.lower()) if isinstance(type_name, str) else None
        if type_number is None:
            raise bad_request(f"type must be one of {', '.join(REQUEST_TYPES)}; got {json.dumps(type_name)}.")
        target = fields.get("target") or self.users.guid(user)
        if guid_key(target) is None:
            raise bad_request("target must be a GUID.")
        comment = fields.get("comment") or ""
        if not isinstance(comment, str):
            raise bad_request("comment must be a string.")
        new_request = {
            "RequestType": type_number,
            "DataCollection": parse_data_collection(fields.get("datacollection")),
            "OriginatorUserUuid": self.users.guid(user),
            "TargetUserUuid": target,
            "Priority": parse_priority(fields.get("priority")),
            "Comment": comment,
            "ProfileTemplateUuid": template,
        }
        self.check_writer(user, "create requests")
        request = self.store.create(new_request)
        location = f"api/v1.0/requests/{request['Uuid']}"
        reply = json_reply(201, location, headers=[("Location", f"{base_url}{APP_ROOT}/{location}")])
        reply.applied = True
        return reply

    def check_writer(self, user, what):
        """Raise a 403 ApiError for a read-only user."""
        if self.users.is_read_only(user):
            raise ApiError(message_reply(403, f"The user {user} does not have permission to {what}."))


def server_error(reason):
    """ASP.NET-style unhandled error: 500, a Message with a new correlation ID, also logged."""
    correlation = str(uuid.uuid4())
    log(f"500 correlation ID {correlation}: {reason}")
    return message_reply(500, f"An error has occurred. {reason} Correlation ID: {correlation}")


def parse_json_object(body):
    """The request body as a JSON object, or a 400 ApiError."""
    try:
        value = json.loads(body.decode("utf-8-sig")) if body else None
    except (UnicodeDecodeError, ValueError):
        raise bad_request("The body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise bad_request("The body must be a JSON object.")
    return value


def parse_data_collection(value):
    """datacollection: a list of one-key objects (or of {Name, Value}), or a string holding that JSON."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise bad_request("datacollection is a string but not JSON.") from None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise bad_request("datacollection must be a list of objects.")
    items = []
    for item in value:
        folded = lower_keys(item)
        pairs = [(folded["name"], folded.get("value"))] if set(folded) <= {"name", "value"} and "name" in folded else list(item.items())
        for name, data in pairs:
            if not isinstance(name, str) or not isinstance(data, (str, type(None))):
                raise bad_request("datacollection values must be strings or null.")
            items.append({"Name": name, "Value": data})
    return items


def parse_priority(value):
    """POST priority: 0-255 (a .NET byte), a number or a string of digits; default 0."""
    if value is None or value == "":
        return 0
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
        raise bad_request("priority must be a number from 0 to 255.")
    return value


# --------------------------------------------------------------------------------------------
# Fault injection: rules that make API calls misbehave, deterministically (docs/emulator.md)
# --------------------------------------------------------------------------------------------

FAULT_KINDS = ("latency", "reset_before", "reset_after", "status", "stall", "malformed_json", "html", "truncated",
               "redirect", "trickle", "oversize", "raw")
# The kinds after which the API still processes the request (a PUT or POST is applied); the others
# (reset_before, status, html, redirect, oversize, raw unless process "before") answer in its place and change nothing.
PROCESSING_FAULTS = ("latency", "reset_after", "stall", "malformed_json", "truncated", "trickle")
FAULT_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")
RULE_KEYS = ("kind", "method", "path_contains", "times", "rate", "seed")
# Each kind's own parameters: name -> (required, default).
RULE_PARAMS = {
    "latency": {"seconds": (True, None)},
    "stall": {"seconds": (True, None), "process": (False, "after")},
    "status": {"code": (True, None), "retry_after": (False, None), "body": (False, None)},
    "html": {"code": (True, None)},
    "redirect": {"code": (True, None), "location": (True, None), "before_auth": (False, True)},
    "trickle": {"interval": (False, 1.0), "chunk": (False, 1)},
    "oversize": {"bytes": (False, None), "endless": (False, False)},
    "raw": {"code": (True, None), "body": (False, ""), "content_type": (False, "application/json"), "headers": (False, None),
            "process": (False, "none")},
}
REDIRECT_CODES = (301, 302, 303, 307, 308)
MAX_OVERSIZE_BYTES = 1 << 40  # streamed, never held in memory: the bound only catches typos
# Framing is the emulator's to get right: a raw rule sets the body and its type, never these headers.
RAW_RESERVED_HEADERS = ("content-length", "transfer-encoding", "content-type", "connection")


class FaultError(ValueError):
    """A fault rule that is not valid."""


def _seconds(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 3600:
        raise FaultError(f"{name} must be a number of seconds from 0 to 3600, not {value!r}")
    return value


def _code(value, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FaultError(f"code must be an HTTP status code from {low} to {high}, not {value!r}")
    return value


class FaultRule:
    """One fault rule: which calls it matches, how many it hits, and what it does to them.

    The parameters never change after construction; hits and matched do, under FaultBook's lock.
    """

    def __init__(self, raw):
        if not isinstance(raw, dict):
            raise FaultError(f"a fault rule must be a JSON object, not {raw!r}")
        kind = raw.get("kind")
        if kind not in FAULT_KINDS:
            raise FaultError(f"kind must be one of {', '.join(FAULT_KINDS)}, not {kind!r}")
        own = RULE_PARAMS.get(kind, {})
        unknown = sorted(str(key) for key in raw if key not in RULE_KEYS and key not in own and not str(key).startswith("_"))
        if unknown:
            raise FaultError(f"unknown keys {unknown} in a {kind} rule; it takes {', '.join(RULE_KEYS + tuple(own))}")
        self.kind = kind
        method = raw.get("method")
        if method is not None and (not isinstance(method, str) or method.upper() not in FAULT_METHODS):
            raise FaultError(f"method must be null or one of {', '.join(FAULT_METHODS)}, not {method!r}")
        self.method = method.upper() if method else None
        self.path_contains = raw.get("path_contains")
        if self.path_contains is not None and not isinstance(self.path_contains, str):
            raise FaultError(f"path_contains must be null or a string, not {self.path_contains!r}")
        self.rate = raw.get("rate")
        if self.rate is not None and (isinstance(self.rate, bool) or not isinstance(self.rate, (int, float)) or not 0 <= self.rate <= 1):
            raise FaultError(f"rate must be null or a number from 0 to 1, not {self.rate!r}")
        # Without a rate a rule hits the next call (times 1); with a rate, every matching call may be hit (times 0).
        self.times = raw.get("times", 1 if self.rate is None else 0)
        if isinstance(self.times, bool) or not isinstance(self.times, int) or self.times < 0:
            raise FaultError(f"times must be a whole number >= 0 (0: every matching call), not {self.times!r}")
        self.seed = raw.get("seed", 0)
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, str)):
            raise FaultError(f"seed must be an integer or a string, not {self.seed!r}")
        self.random = random.Random(self.seed)
        self.params = {}
        for name, (required, default) in own.items():
            if name not in raw and required:
                raise FaultError(f"a {kind} rule needs {name}")
            self.params[name] = raw.get(name, default)
        self._check_params()
        self.hits = 0  # calls it acted on
        self.matched = 0  # calls whose method and path matched while it was active (rate draws included)

    def _check_params(self):
        params = self.params
        if "seconds" in params:
            _seconds(params["seconds"], "seconds")
        if self.kind == "stall" and params["process"] not in ("after", "before"):
            raise FaultError(f"process must be 'after' (the stall) or 'before', not {params['process']!r}")
        if self.kind == "html":
            _code(params["code"], 200, 599)
        if self.kind == "status":
            _code(params["code"], 400, 599)
            retry_after = params["retry_after"]
            if isinstance(retry_after, bool) or not (
                retry_after is None
                or (isinstance(retry_after, int) and retry_after >= 0)
                or (isinstance(retry_after, str) and retry_after.strip() and not set("\r\n") & set(retry_after))
            ):
                raise FaultError(f"retry_after must be null, whole seconds >= 0 or an HTTP date string, not {retry_after!r}")
            if params["body"] is None:
                params["body"] = "json" if params["code"] == 500 else "html"
            if params["body"] not in ("json", "html"):
                raise FaultError(f"body must be 'json' or 'html', not {params['body']!r}")
        check = getattr(self, f"_check_{self.kind}", None)
        if check:
            check(params)

    @staticmethod
    def _check_redirect(params):
        if params["code"] not in REDIRECT_CODES or isinstance(params["code"], bool):
            raise FaultError(f"code must be one of {', '.join(map(str, REDIRECT_CODES))}, not {params['code']!r}")
        location = params["location"]
        parts = urlsplit(location) if isinstance(location, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or _has_control(location):
            raise FaultError(f"location must be an absolute http:// or https:// URL, not {location!r}")
        if not isinstance(params["before_auth"], bool):
            raise FaultError(f"before_auth must be true or false, not {params['before_auth']!r}")

    @staticmethod
    def _check_trickle(params):
        _seconds(params["interval"], "interval")
        chunk = params["chunk"]
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
            raise FaultError(f"chunk must be a whole number of bytes >= 1, not {chunk!r}")

    @staticmethod
    def _check_oversize(params):
        size, endless = params["bytes"], params["endless"]
        if not isinstance(endless, bool):
            raise FaultError(f"endless must be true or false, not {endless!r}")
        if (size is None) == (not endless):
            raise FaultError("an oversize rule needs either bytes or endless true (not both)")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or not 2 <= size <= MAX_OVERSIZE_BYTES):
            raise FaultError(f"bytes must be a whole number from 2 to {MAX_OVERSIZE_BYTES}, not {size!r}")

    @staticmethod
    def _check_raw(params):
        code = _code(params["code"], 100, 599)
        if not isinstance(params["body"], str):
            raise FaultError(f"body must be a string, not {params['body']!r}")
        if params["body"] and not has_body(code):
            raise FaultError(f"a {code} answer has no body; body must be empty")
        if not isinstance(params["content_type"], str) or not params["content_type"] or _has_control(params["content_type"]):
            raise FaultError(f"content_type must be a header value, not {params['content_type']!r}")
        headers = {} if params["headers"] is None else params["headers"]
        if not isinstance(headers, dict) or not all(
                isinstance(name, str) and re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name) and isinstance(value, str)
                and not _has_control(value) for name, value in headers.items()):
            raise FaultError(f"headers must be an object of header names and string values without control characters, not {headers!r}")
        reserved = sorted(name for name in headers if name.lower() in RAW_RESERVED_HEADERS)
        if reserved:
            raise FaultError(f"headers must not set {', '.join(reserved)} (the emulator frames the answer; use content_type)")
        params["headers"] = dict(headers)
        if params["process"] not in ("none", "before"):
            raise FaultError(f"process must be 'none' (the API never sees the call) or 'before', not {params['process']!r}")

    @property
    def before_auth(self):
        """True for a rule answered before authentication (a redirect with before_auth, the default)."""
        return self.kind == "redirect" and self.params["before_auth"]

    def processes(self):
        """Whether the API still processes a call this rule hits (a PUT or POST is then applied)."""
        return self.kind in PROCESSING_FAULTS or (self.kind == "raw" and self.params["process"] == "before")

    @property
    def active(self):
        """False once the rule has hit `times` calls (never, for times 0)."""
        return self.times == 0 or self.hits < self.times

    def matches(self, method, target):
        """True for a call with this method on this path?query (case-insensitive substring)."""
        if self.method is not None and self.method != method.upper():
            return False
        return self.path_contains is None or self.path_contains.lower() in target.lower()

    def describe(self):
        """The rule as GET /_emulator/faults shows it: every field, with its defaults, and its counts."""
        rule = {"kind": self.kind, "method": self.method, "path_contains": self.path_contains, "times": self.times,
                "rate": self.rate, "seed": self.seed}
        rule.update(self.params)
        rule.update(hits=self.hits, matched=self.matched, remaining=None if self.times == 0 else self.times - self.hits)
        return rule

    def summary(self):
        """A short text for stderr: stall(seconds=2, process=after)."""
        return f"{self.kind}({', '.join(f'{name}={value}' for name, value in self.params.items())})"

    def reply(self):
        """The answer a status, html, redirect or raw rule sends instead of the API's."""
        code = self.params["code"]
        if self.kind == "redirect":
            location = self.params["location"]
            return Reply(code, redirect_page(location), HTML_TYPE, [("Location", location)])
        if self.kind == "raw":
            return Reply(code, self.params["body"].encode("utf-8"), self.params["content_type"], list(self.params["headers"].items()))
        if self.kind == "html" or self.params["body"] == "html":
            reply = Reply(code, html_error_page(code), HTML_TYPE)
        elif code == 500:
            reply = server_error("The server could not process the request (injected fault).")
        else:
            reply = message_reply(code, f"{code} {status_phrase(code)} (injected fault).")
        if self.kind == "status" and self.params["retry_after"] is not None:
            reply.headers.append(("Retry-After", str(self.params["retry_after"])))
        return reply


def parse_fault_rules(value):
    """One rule (a JSON object) or a list of them, as FaultRules; FaultError if any is invalid."""
    raws = value if isinstance(value, list) else [value]
    rules = []
    for index, raw in enumerate(raws):
        try:
            rules.append(FaultRule(raw))
        except FaultError as error:
            raise FaultError(f"rule {index}: {error}" if isinstance(value, list) else str(error)) from None
    return rules


class FaultBook:
    """The fault rules in order; the first active rule that matches a call and hits it wins. Thread-safe."""

    def __init__(self, rules=()):
        self._lock = threading.Lock()
        self._rules = list(rules)

    def add(self, rules):
        """Append rules (already validated)."""
        with self._lock:
            self._rules.extend(rules)

    def clear(self):
        """Forget every rule."""
        with self._lock:
            self._rules = []

    def describe(self):
        """Every rule, exhausted ones included, with its counts."""
        with self._lock:
            return [rule.describe() for rule in self._rules]

    def pick(self, method, path, query, before_auth=False):
        """The rule that hits this call, or None. A rule whose rate draw misses passes the call on.

        before_auth: pick among the rules answered before authentication (redirects by default), else among the others.
        """
        target = f"{path}?{query}" if query else path
        with self._lock:
            for rule in self._rules:
                if rule.before_auth != before_auth or not rule.active or not rule.matches(method, target):
                    continue
                rule.matched += 1
                if rule.rate is not None and rule.random.random() >= rule.rate:
                    continue
                rule.hits += 1
                return rule
        return None


def _has_control(text):
    """True if the text holds a control character (CR, LF, NUL ...): it could split a header."""
    return any(ord(character) < 32 or ord(character) == 127 for character in text)


def has_body(code):
    """Whether an answer with this status carries a body (1xx, 204 and 304 never do)."""
    return code >= 200 and code not in (204, 304)


def redirect_page(location):
    """IIS's "Object moved" page for a redirect (bytes)."""
    link = html.escape(location, quote=True)
    return (f'<head><title>Object moved</title></head><body><h1>Object Moved</h1>This object may be found '
            f'<a HREF="{link}">here</a>.</body>').encode("utf-8")


def padding_json(size, piece=65536):
    """A JSON array of padding strings exactly `size` bytes long (size >= 2), as pieces of at most about `piece` bytes."""
    yield b"["
    remaining = size - 2
    first = True
    while remaining >= (2 if first else 3):  # '"..."' first, then ',"..."'
        overhead = 2 if first else 3
        content = min(piece, remaining - overhead)
        yield (b'"' if first else b',"') + b"x" * content + b'"'
        remaining -= overhead + content
        first = False
    yield b" " * remaining + b"]"  # at most two bytes left: JSON whitespace


def endless_padding_json(piece=65536):
    """The start of a JSON array of padding strings that never ends."""
    yield b'["' + b"x" * piece + b'"'
    element = b',"' + b"x" * piece + b'"'
    while True:
        yield element


def status_phrase(code):
    """The standard reason phrase of an HTTP status code ('Service Unavailable')."""
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return "Error"


# The texts IIS, HTTP.sys and ARR put on their error pages (as a load balancer or proxy in front of CM sends them).
HTML_ERRORS = {
    200: "Runtime Error: An application error occurred on the server.",
    500: "500 - Internal server error. There is a problem with the resource you are looking for, and it cannot be displayed.",
    502: "502 - Web server received an invalid response while acting as a gateway or proxy server.",
    503: "HTTP Error 503. The service is unavailable.",
    504: "504 - Gateway Timeout. The web server did not receive a timely response from an upstream server.",
}


def html_error_page(code):
    """An IIS/ARR-style HTML error page (bytes) for this status code."""
    text = HTML_ERRORS.get(code, f"{code} - {status_phrase(code)}.")
    title = text.split(". ")[0].split(": ")[0]
    return (
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\r\n'
        f'<html xmlns="http://www.w3.org/1999/xhtml"><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>'
        f"<title>{title}</title></head>\r\n<body><div id=\"header\"><h1>Server Error</h1></div>\r\n"
        f"<div id=\"content\"><fieldset><h2>{text}</h2></fieldset></div></body></html>\r\n"
    ).encode("ascii")


def malformed_json(reply):
    """A 200 whose application/json body is not JSON: the API's answer with single instead of double quotes."""
    body = reply.body.replace(b'"', b"'")
    if not body or json_or_none(body) is not None or body.strip() == b"null":
        body = b"{'Message':'An error has occurred.'"  # nothing quoted in it (a 204, []): something surely not JSON
    return Reply(200, body, JSON_TYPE, applied=reply.applied)


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


# --------------------------------------------------------------------------------------------
# The admin side door: /_emulator/..., no auth, not logged. Add a route here for each new switch.
# --------------------------------------------------------------------------------------------

class AdminDoor:
    """Test-only routes under /_emulator/ (loopback only, no authentication, not in exchanges.jsonl)."""

    def __init__(self, store, faults, in_flight):
        self.store = store
        self.faults = faults
        self.in_flight = in_flight
        self.routes = [
            ("GET", re.compile(r"requests/?"), self.list_requests),
            ("GET", re.compile(r"requests/([^/]+)/?"), self.get_request),
            ("POST", re.compile(r"reset/?"), self.reset),
            ("GET", re.compile(r"faults/?"), self.list_faults),
            ("POST", re.compile(r"faults/?"), self.add_faults),
            ("DELETE", re.compile(r"faults/?"), self.clear_faults),
            ("GET", re.compile(r"in-flight/?"), self.count_in_flight),
        ]

    def handle(self, method, path, body=b""):
        """Answer one admin call: the first route whose method and pattern match."""
        subpath = path[len(ADMIN_ROOT):]
        for route_method, pattern, action in self.routes:
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

    def count_in_flight(self, **_unused):
        """GET /_emulator/in-flight: API exchanges being handled now (a stalled one counts until it is answered)."""
        return json_reply(200, {"in_flight": self.in_flight.count})


# --------------------------------------------------------------------------------------------
# Logging of API exchanges
# --------------------------------------------------------------------------------------------

class ExchangeLog:
    """Appends one JSON line per API exchange to exchanges.jsonl, flushed at once."""

    def __init__(self, path):
        self._lock = threading.Lock()
        self._file = open(path, "a", encoding="utf-8")  # pylint: disable=consider-using-with

    def write(self, record):
        """Append one record as a JSON line (thread-safe; ignored once closed)."""
        line = json.dumps(record) + "\n"
        with self._lock:
            if self._file.closed:
                return
            self._file.write(line)
            self._file.flush()

    def close(self):
        """Close the log file."""
        with self._lock:
            self._file.close()


# --------------------------------------------------------------------------------------------
# TLS: a throw-away CA, a server certificate and the channel bindings it implies
# --------------------------------------------------------------------------------------------

class TlsMaterial:
    """A trustme CA (written to ca.pem and ca-bundle.pem), an SSL context and the tls-server-end-point bindings.

    The server certificate is for 127.0.0.1, localhost and host, or only for cert_hostnames when given.
    """

    def __init__(self, state_dir, host, cert_hostnames=None):
        ca = trustme.CA(organization_name="MIM CM emulator test CA")
        identities = ["127.0.0.1", "localhost"] + ([host] if host not in ("127.0.0.1", "localhost") else [])
        self.identities = list(cert_hostnames) if cert_hostnames else identities
        leaf = ca.issue_cert(*self.identities)
        self.ca_path = os.path.join(state_dir, "ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        # A bundle of two CAs, the test CA last: proves a client reads a whole bundle file, not its first certificate.
        unrelated = trustme.CA(organization_name="MIM CM emulator unrelated CA")
        with open(os.path.join(state_dir, "ca-bundle.pem"), "wb") as handle:
            handle.write(unrelated.cert_pem.bytes() + ca.cert_pem.bytes())
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        leaf.configure_cert(self.context)
        certificate = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
        self.channel_bindings = GssChannelBindings(application_data=b"tls-server-end-point:" + end_point_hash(certificate))


def end_point_hash(certificate):
    """RFC 5929 tls-server-end-point: the certificate's signature hash, SHA-256 instead of MD5/SHA-1."""
    algorithm = certificate.signature_hash_algorithm
    if algorithm is None or isinstance(algorithm, (hashes.MD5, hashes.SHA1)):
        algorithm = hashes.SHA256()
    digest = hashes.Hash(algorithm)
    digest.update(certificate.public_bytes(serialization.Encoding.DER))
    return digest.finalize()


# --------------------------------------------------------------------------------------------
# HTTP: the server (one thread per connection) and the handler (one instance per connection)
# --------------------------------------------------------------------------------------------

NTLM_SIGNATURE = b"NTLMSSP\x00"
AV_EOL, AV_CHANNEL_BINDINGS = 0, 10  # MS-NLMP AV_PAIR ids: MsvAvEOL, MsvAvChannelBindings


def ntlm_sent_bindings(token):
    """The channel bindings hash an NTLM AUTHENTICATE (type 3) message carries, or None if it carries none.

    None also for an all-zero hash (what a client sends when it has no bindings to give) and for an
    NTLMv1 or malformed response, which have no AV pairs to look in (MS-NLMP 2.2.1.3, 2.2.2.1, 2.2.2.7).
    """
    try:
        length, _max_length, offset = struct.unpack("<HHI", token[20:28])
        response = token[offset:offset + length]
        position = 16 + 28  # NTProofStr, then the NTLMv2_CLIENT_CHALLENGE header; its AV pairs follow
        while position + 4 <= len(response):
            av_id, av_length = struct.unpack("<HH", response[position:position + 4])
            if av_id == AV_EOL:
                break
            if av_id == AV_CHANNEL_BINDINGS:
                value = response[position + 4:position + 4 + av_length]
                return value if value.strip(b"\x00") else None
            position += 4 + av_length
    except struct.error:
        pass
    return None


class BindingsRefused(Exception):
    """A login refused before pyspnego sees it: channel bindings required but not sent."""


class EmulatorServer(http.server.ThreadingHTTPServer):  # pylint: disable=too-many-instance-attributes
    """The listening server; holds what every connection shares."""

    daemon_threads = True
    block_on_close = False  # stopping must not wait for keep-alive connections or stalled calls

    def __init__(self, address, api, admin, users, exchanges, tls, options):
        self.api = api
        self.admin = admin
        self.users = users
        self.exchanges = exchanges
        self.tls = tls
        self.faults = admin.faults
        self.in_flight = admin.in_flight
        self.latency = options.latency_ms / 1000.0
        self.channel_binding = options.channel_binding
        self.schemes = AUTH_SCHEMES[options.auth]
        self._connection_ids = itertools.count(1)
        self._id_lock = threading.Lock()
        super().__init__(address, CMHandler)

    def server_bind(self):
        # HTTPServer.server_bind looks up the host's FQDN (DNS); loopback needs none of that.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address):
        """Runs in the connection's thread: do the TLS handshake here, not in the accept loop."""
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(CMHandler.timeout)
        try:
            connection = self.tls.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as error:
            log(f"TLS handshake with {client_address[0]}:{client_address[1]} failed: {error}")
            return
        try:
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            connection.close()

    def handle_error(self, request, client_address):
        """A client that goes away or times out costs one line on stderr, not a traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError, ssl.SSLError)):
            log(f"connection from {client_address[0]}:{client_address[1]} ended: {error!r}")
        else:
            super().handle_error(request, client_address)

    def next_connection_id(self):
        """A number for each TCP connection, for the exchange log."""
        with self._id_lock:
            return next(self._connection_ids)

    def new_acceptor(self):
        """A fresh NTLM acceptor (users from NTLM_USER_FILE); bindings_for() says what its last step checks."""
        return spnego.server(protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)

    def new_negotiate_acceptor(self):
        """A fresh SPNEGO acceptor: Kerberos (the keytab in KRB5_KTNAME, any principal in it) or NTLM inside SPNEGO."""
        return spnego.server(protocol="negotiate", service="HTTP", hostname=self.server_name)

    def unauthorized(self):
        """IIS's answer to an unauthenticated request or a failed handshake: the schemes --auth offers."""
        return Reply(401, UNAUTHORIZED_HTML, HTML_TYPE, [("WWW-Authenticate", scheme) for scheme in self.schemes])

    def negotiate_bindings(self, inner):
        """(channel bindings to pass, whether the login must prove it carried them) for one Negotiate step.

        NTLM inside SPNEGO: as bindings_for(), on its AUTHENTICATE message. Kerberos: the bindings are in the
        encrypted authenticator, out of sight; they are passed to the acceptor (MIT krb5 refuses wrong ones and lets
        missing ones through), and with --channel-binding require the accepted context must say they matched.
        """
        if self.tls is None or self.channel_binding == "off":
            return None, False
        if inner.startswith(NTLM_SIGNATURE):
            message_type = struct.unpack("<I", inner[8:12])[0] if len(inner) >= 12 else 0
            return (self.bindings_for(inner) if message_type == 3 else None), False
        return self.tls.channel_bindings, self.channel_binding == "require"

    def bindings_for(self, token):
        """The channel bindings an NTLM type 3 token must match (None: no check), per --channel-binding.

        require: the token must carry bindings, and they must match; accept: they must match when the
        token carries them; off: never checked. Plain HTTP has no channel to bind to.
        """
        if self.tls is None or self.channel_binding == "off":
            return None
        if ntlm_sent_bindings(token) is None:
            if self.channel_binding == "require":
                raise BindingsRefused("channel bindings are required (Extended Protection) but the client sent none")
            return None
        return self.tls.channel_bindings


class CMHandler(http.server.BaseHTTPRequestHandler):
    """One instance per TCP connection: holds the connection's NTLM state and authenticated user."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    timeout = 120

    def setup(self):
        super().setup()
        self.connection_id = self.server.next_connection_id()
        self.ntlm = None  # the acceptor of a raw NTLM handshake under way
        self.negotiate = None  # the acceptor of a Negotiate (SPNEGO or raw Kerberos) handshake under way
        self.user = None  # set once a handshake succeeded: the connection is authenticated
        self.mechanism = None  # how it was: "ntlm" or "kerberos"
        self.leg_mechanism = None  # the mechanism of the handshake leg being answered, for the exchange log
        self.auth_header = None  # the server's last Negotiate token (mutual authentication), sent with the next answer

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        log(f"[connection {self.connection_id}] {self.client_address[0]} {format % args}")

    def do_GET(self):  # pylint: disable=invalid-name,missing-function-docstring
        self.dispatch()

    def do_PUT(self):  # pylint: disable=invalid-name,missing-function-docstring
        self.dispatch()

    def do_POST(self):  # pylint: disable=invalid-name,missing-function-docstring
        self.dispatch()

    def do_DELETE(self):  # pylint: disable=invalid-name,missing-function-docstring
        self.dispatch()

    def do_PATCH(self):  # pylint: disable=invalid-name,missing-function-docstring
        self.dispatch()

    def dispatch(self):
        """Every method lands here: read the body, then route to the admin door, the API or a 404."""
        try:
            body = self.read_body()
        except ValueError as error:
            self.close_connection = True
            self.send_reply(message_reply(400, f"Bad request body framing: {error}"))
            return
        url = urlsplit(self.path)
        path = unquote(url.path)
        if path.lower().startswith(ADMIN_ROOT):
            self.send_reply(self.server.admin.handle(self.command, path, body))
        elif path.lower().startswith(API_ROOT.lower()):
            self.handle_api(path, url.query, body)
        else:
            self.send_reply(message_reply(404, f"Nothing at {path}: the API lives under {API_V1}."))

    def handle_api(self, path, query, body):
        """Authenticate, answer and log one exchange on an API path, with --latency-ms and any fault rule.

        The log line is written before anything is sent (a client that has its answer, or its
        connection reset, always finds the exchange in the log); for a stall with process "before",
        before the stall.
        """
        with self.server.in_flight:
            carried_authorization = "Authorization" in self.headers
            if self.server.latency:
                time.sleep(self.server.latency)
            self.leg_mechanism = None
            # A redirect (before_auth) answers as a hostile front end would: before any login is asked for.
            rule = self.server.faults.pick(self.command, path, query, before_auth=True)
            reply = None if rule else self.authenticate()
            auth_leg = reply is not None  # answered (401) by authentication, not by the API
            if not auth_leg and rule is None:
                rule = self.server.faults.pick(self.command, path, query)
            kind = rule.kind if rule else None
            if rule:
                log(f"[connection {self.connection_id}] injected fault {rule.summary()} on {self.command} {path}")
            stall_after = kind == "latency" or (kind == "stall" and rule.params["process"] == "after")
            if stall_after:
                time.sleep(rule.params["seconds"])
            if not auth_leg and (rule is None or rule.processes()):
                reply = self.server.api.handle(self.command, path, query, body, self.user, self.base_url())
            if kind in ("status", "html", "redirect", "raw"):
                processed, reply = reply, rule.reply()
                reply.applied = bool(processed and processed.applied)  # raw with process "before"
            elif kind == "oversize":
                reply = Reply(200)
            sent = reply
            if kind in ("reset_before", "reset_after"):
                sent = None
            elif kind == "malformed_json":
                sent = malformed_json(reply)
            applied = bool(reply is not None and reply.applied)
            self.server.exchanges.write({
                "time": utc_now_text(),
                "connection": self.connection_id,
                "method": self.command,
                "path": path,
                "query": query,
                "status": sent.status if sent else None,
                "auth_leg": auth_leg,
                "authorization": carried_authorization,
                "user": self.user,
                "mechanism": self.mechanism or self.leg_mechanism,
                "body": json_or_none(body),
                "fault": kind,
                "applied": applied,
            })
            if kind == "stall":
                where = "after" if stall_after else "before"
                log(f"[connection {self.connection_id}] stalled {rule.params['seconds']} s; processed {where} the stall (applied: {applied})")
                if not stall_after:
                    time.sleep(rule.params["seconds"])
            if sent is None:
                self.abort_connection()
            elif kind == "truncated":
                self.send_truncated(sent)
            elif kind == "trickle":
                self.send_streamed(sent, [sent.body], rule.params["chunk"], rule.params["interval"])
            elif kind == "oversize":
                endless = rule.params["endless"]
                pieces = endless_padding_json() if endless else padding_json(rule.params["bytes"])
                self.send_streamed(Reply(200), pieces, length=None if endless else rule.params["bytes"])
            else:
                self.send_reply(sent)

    def abort_connection(self):
        """Reset the TCP connection (SO_LINGER 0: a RST, no FIN, no TLS close_notify) without answering."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            self.rfile.close()  # the socket only really closes once its file objects are gone
            self.connection.close()
        log(f"[connection {self.connection_id}] connection reset (injected fault)")

    def send_streamed(self, reply, pieces, chunk=None, interval=0.0, length=None):
        """Send a reply's status and headers, then the body from `pieces`, written as it is produced.

        chunk and interval: write `chunk` bytes, then wait `interval` seconds (trickle; Content-Length is the
        reply's). length: the Content-Length of a streamed body; None without chunk: chunked transfer coding
        that lasts as long as `pieces` does. Stops quietly, closing the connection, when the client hangs up.
        """
        chunked = chunk is None and length is None
        self.send_response(reply.status)
        for name, value in reply.headers + self.take_auth_header():
            self.send_header(name, value)
        if has_body(reply.status):
            self.send_header("Content-Type", reply.content_type)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(reply.body) if length is None else length))
        sent = 0
        try:
            self.end_headers()
            self.wfile.flush()
            if not has_body(reply.status):
                return
            for piece in pieces:
                for start in range(0, len(piece), chunk or len(piece) or 1):
                    part = piece[start:start + chunk] if chunk else piece
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
                    self.wfile.flush()
                    sent += len(part)
                    if chunk and interval and sent < len(reply.body):
                        time.sleep(interval)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        except (OSError, ValueError) as error:  # the client hung up (ValueError: the file was closed under us)
            self.close_connection = True
            log(f"[connection {self.connection_id}] client hung up after {sent} body bytes: {error!r}")

    def send_truncated(self, reply):
        """Send the headers with the full Content-Length, only half the body, then close the connection.

        An answer without a body (204) is cut inside its status line instead (a client would take a
        204 cut inside its headers for a whole one).
        """
        self.close_connection = True
        if reply.status != 204 and reply.body:
            self.send_response(reply.status)
            for name, value in reply.headers + self.take_auth_header():
                self.send_header(name, value)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body[:len(reply.body) // 2])
        else:
            self.log_request(reply.status)
            self.wfile.write(f"HTTP/1.1 {reply.status}"[:10].encode("ascii"))
        self.wfile.flush()
        log(f"[connection {self.connection_id}] answer truncated and connection closed (injected fault)")

    def authenticate(self):
        """None when the connection is (now) authenticated; otherwise the 401 Reply to send.

        The login authenticates the connection, as IIS does: later requests need no Authorization
        header. Any Authorization header starts or continues a handshake and drops the old login.
        A raw NTLM token goes to the NTLM acceptor under either scheme (as IIS's Negotiate provider
        takes raw NTLM too); any other token under Negotiate goes to the SPNEGO acceptor.
        """
        header = self.headers.get("Authorization")
        if header is None:
            return None if self.user else self.server.unauthorized()
        self.user = None
        self.mechanism = None
        self.auth_header = None
        scheme, _sep, encoded = header.strip().partition(" ")
        scheme = {"ntlm": "NTLM", "negotiate": "Negotiate"}.get(scheme.lower())
        try:
            token = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            token = b""
        if scheme not in self.server.schemes:
            log(f"[connection {self.connection_id}] refused: the {header.split(' ', 1)[0]} scheme is not offered "
                f"(--auth offers {', '.join(self.server.schemes)})")
            self.ntlm = self.negotiate = None
            return self.server.unauthorized()
        if token.startswith(NTLM_SIGNATURE) and len(token) >= 12:
            self.negotiate = None
            return self.authenticate_ntlm(scheme, token)
        self.ntlm = None
        if scheme == "Negotiate" and token:
            return self.authenticate_negotiate(token)
        log(f"[connection {self.connection_id}] refused: only raw NTLM tokens are supported under NTLM")
        return self.server.unauthorized()

    def authenticate_ntlm(self, scheme, token):
        """One leg of a raw NTLM handshake (NEGOTIATE, then AUTHENTICATE), channel bindings per --channel-binding."""
        self.leg_mechanism = "ntlm"
        message_type = struct.unpack("<I", token[8:12])[0]
        if message_type == 1:
            self.ntlm = self.server.new_acceptor()
        elif message_type != 3 or self.ntlm is None:
            self.ntlm = None
            return self.server.unauthorized()
        try:
            bindings = self.server.bindings_for(token) if message_type == 3 else None
            answer = self.ntlm.step(token, channel_bindings=bindings)
        except Exception as error:  # pylint: disable=broad-exception-caught
            # Wrong password, unknown user, channel bindings missing or not matching, a malformed token.
            log(f"[connection {self.connection_id}] NTLM authentication failed: {error}")
            self.ntlm = None
            return self.server.unauthorized()
        if not self.ntlm.complete:
            challenge = base64.b64encode(answer or b"").decode("ascii")
            return Reply(401, UNAUTHORIZED_HTML, HTML_TYPE, [("WWW-Authenticate", f"{scheme} {challenge}")])
        self.user = self.server.users.canonical(self.ntlm.client_principal)
        self.mechanism = "ntlm"
        self.ntlm = None
        return None

    def authenticate_negotiate(self, token):
        """One leg of a Negotiate handshake: SPNEGO (Kerberos, or NTLM inside it) or a raw Kerberos token.

        A GSS initial token (0x60: a SPNEGO NegTokenInit or a raw Kerberos AP-REQ) starts a new handshake;
        a NegTokenResp continues the one under way. Kerberos takes one leg; the server's final token (the
        AP-REP, for mutual authentication) goes with the answer to the request.
        """
        if token[:1] == b"\x60":
            self.negotiate = self.server.new_negotiate_acceptor()
        elif self.negotiate is None:
            log(f"[connection {self.connection_id}] refused: a Negotiate continuation token without a handshake under way")
            return self.server.unauthorized()
        inner, mechanism = negotiate_inner_token(token)
        self.leg_mechanism = mechanism
        try:
            bindings, must_be_bound = self.server.negotiate_bindings(inner)
            answer = self.negotiate.step(token, channel_bindings=bindings)
            mechanism = self.negotiate.negotiated_protocol or mechanism
            self.leg_mechanism = mechanism
            if self.negotiate.complete and mechanism == "kerberos" and must_be_bound and not channel_bound(self.negotiate):
                raise BindingsRefused("channel bindings are required (Extended Protection) but the Kerberos authenticator carried none")
        except Exception as error:  # pylint: disable=broad-exception-caught
            # Kerberos: a ticket for a principal not in the keytab, a replay, wrong bindings, no gssapi;
            # NTLM: as in authenticate_ntlm.
            if isinstance(error, AttributeError) and mechanism == "kerberos":
                # python-gssapi turns a refusal into an error token instead of raising; pyspnego then fails to read
                # the flags of the context that was never established.
                error = ("the Kerberos acceptor refused the AP-REQ (channel bindings that do not match, a ticket for a "
                         "service principal the keytab lacks, or a replay)")
            log(f"[connection {self.connection_id}] Negotiate ({mechanism or 'unknown mechanism'}) authentication failed: {error}")
            self.negotiate = None
            return self.server.unauthorized()
        if not self.negotiate.complete:
            challenge = base64.b64encode(answer or b"").decode("ascii")
            return Reply(401, UNAUTHORIZED_HTML, HTML_TYPE, [("WWW-Authenticate", f"Negotiate {challenge}")])
        principal = self.negotiate.client_principal or ""
        user = self.server.users.from_kerberos(principal) if mechanism == "kerberos" else self.server.users.canonical(principal)
        self.negotiate = None
        if user is None:
            log(f"[connection {self.connection_id}] Negotiate (kerberos) authentication failed: "
                f"the principal {principal} has no user of that name in the users file")
            return self.server.unauthorized()
        log(f"[connection {self.connection_id}] Negotiate ({mechanism}) login as {user} ({principal})")
        self.user = user
        self.mechanism = mechanism
        if answer:
            self.auth_header = ("WWW-Authenticate", "Negotiate " + base64.b64encode(answer).decode("ascii"))
        return None

    def base_url(self):
        """scheme://host[:port] as the client addressed us (for Location and 404 messages)."""
        scheme = "https" if self.server.tls else "http"
        host = self.headers.get("Host") or f"{self.server.server_name}:{self.server.server_port}"
        return f"{scheme}://{host}"

    def read_body(self):
        """Read the whole request body (always, even for a 401, or the connection goes out of step)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0].strip() or b"x", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def take_auth_header(self):
        """[the WWW-Authenticate header with the server's final Negotiate token], once, or []."""
        header, self.auth_header = self.auth_header, None
        return [header] if header else []

    def send_reply(self, reply):
        """Send a Reply with Content-Type and Content-Length (none for 204), keeping the connection open."""
        self.send_response(reply.status)
        for name, value in reply.headers + self.take_auth_header():
            self.send_header(name, value)
        if has_body(reply.status):
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if has_body(reply.status):
            self.wfile.write(reply.body)
        self.wfile.flush()
        if reply.status < 200:
            self.close_connection = True  # an interim answer with no final one after it (raw rules only)


def negotiate_inner_token(token):
    """(the mechanism token inside a Negotiate token, "ntlm" or "kerberos" or None when unknown).

    A SPNEGO NegTokenInit carries its first mechanism's token, a NegTokenResp the next one (or none); any
    other token is raw: NTLM by its signature, else Kerberos.
    """
    if token.startswith(NTLM_SIGNATURE):
        return token, "ntlm"
    try:
        parsed = unpack_token(token) if unpack_token else None
    except Exception:  # pylint: disable=broad-exception-caught
        parsed = None
    inner = token
    if NegTokenInit is not None and isinstance(parsed, NegTokenInit):
        inner = parsed.mech_token or b""
    elif NegTokenResp is not None and isinstance(parsed, NegTokenResp):
        inner = parsed.response_token or b""
        if not inner:
            return inner, None
    return inner, "ntlm" if inner.startswith(NTLM_SIGNATURE) else "kerberos"


def channel_bound(context):
    """Whether an accepted Kerberos context says the initiator's channel bindings matched (GSS_C_CHANNEL_BOUND_FLAG)."""
    inner = getattr(context, "_context", None)  # NegotiateProxy -> the chosen mechanism's GSSAPIProxy
    flags = getattr(inner, "_context_attr", None)
    if flags is None:
        flags = getattr(context, "_context_attr", 0)
    return bool(int(flags or 0) & GSS_C_CHANNEL_BOUND_FLAG)


def json_or_none(body):
    """The body parsed as JSON for the log, or None."""
    try:
        return json.loads(body.decode("utf-8-sig")) if body else None
    except (UnicodeDecodeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def parse_args(argv):
    """The command line (see docs/emulator.md)."""
    parser = argparse.ArgumentParser(description="Emulate the MIM CM REST API on loopback, for tests.")
    parser.add_argument("--state-dir", required=True, help="where ca.pem, url, emulator.pid and exchanges.jsonl go (created if needed)")
    parser.add_argument("--seed", default=DEFAULT_SEED, help="seed JSON: users' GUIDs, read-only users, requests (default: %(default)s)")
    parser.add_argument("--users", default=DEFAULT_USERS, help="NTLM users file, DOMAIN:USER:PASSWORD a line (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument("--plain-http", action="store_true", help="serve plain HTTP instead of TLS (no channel bindings)")
    parser.add_argument("--read-only-user", action="append", metavar="NAME",
                        help="DOMAIN\\user who gets 403 on PUT and POST; repeatable; replaces the seed's read_only_users")
    parser.add_argument("--unknown-request", choices=("204", "404", "403"), default="204", help="answer to GET of an unknown GUID (default: 204)")
    parser.add_argument("--empty-search", choices=("204", "array"), default="204", help="answer to a search without match (default: 204)")
    parser.add_argument("--put-response", choices=("200", "204"), default="200", help="answer to a successful PUT (default: 200 with the Request)")
    parser.add_argument("--api-disabled", action="store_true", help="Clm.WebApi.Enabled off: every API path answers 404")
    parser.add_argument("--fault", action="append", default=[], metavar="JSON",
                        help="a fault rule (JSON object) or a list of rules, loaded at start; repeatable (see docs/emulator.md)")
    parser.add_argument("--latency-ms", type=float, default=0.0, metavar="MS",
                        help="delay every API exchange, 401 legs included, by MS milliseconds (a network round trip; default 0)")
    parser.add_argument("--cert-hostname", action="append", metavar="NAME",
                        help="issue the server certificate for NAME instead of 127.0.0.1 and localhost; repeatable")
    parser.add_argument("--channel-binding", choices=("require", "accept", "off"), default="require",
                        help="channel bindings over TLS (NTLM and Kerberos): require them (default), check them when sent (accept), or ignore them (off)")
    parser.add_argument("--auth", choices=tuple(AUTH_SCHEMES), default="both",
                        help="the schemes offered in WWW-Authenticate: NTLM only (raw NTLM), Negotiate only (SPNEGO: Kerberos "
                             "or NTLM inside it), or both (default, as IIS: Negotiate, then NTLM)")
    parser.add_argument("--keytab", metavar="FILE",
                        help="the Kerberos keytab of the HTTP/<host> service principal (sets KRB5_KTNAME; default: KRB5_KTNAME "
                             "from the environment); Kerberos also needs KRB5_CONFIG and the Python gssapi and krb5 libraries")
    args = parser.parse_args(argv)
    if args.latency_ms < 0:
        parser.error("--latency-ms must be 0 or more")
    if args.plain_http and args.cert_hostname:
        parser.error("--cert-hostname needs TLS; it cannot be combined with --plain-http")
    args.fault_rules = []
    for text in args.fault:
        try:
            args.fault_rules.extend(parse_fault_rules(json.loads(text)))
        except ValueError as error:  # FaultError is a ValueError, and so is bad JSON
            parser.error(f"--fault {text}: {error}")
    if args.host != "localhost":
        try:
            loopback = ipaddress.IPv4Address(args.host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            parser.error("--host must be localhost or an IPv4 loopback address")
    return args


def kerberos_status():
    """One line on what Kerberos inside Negotiate can do here: the keytab and the libraries, or why not."""
    try:
        import gssapi  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
        import krb5  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
    except ImportError as error:
        return f"Kerberos unavailable ({error}: pip install 'pyspnego[kerberos]'); NTLM inside SPNEGO only"
    keytab = os.environ.get("KRB5_KTNAME")
    if not keytab:
        return "Kerberos with the default keytab (no KRB5_KTNAME, no --keytab)"
    return f"Kerberos with keytab {keytab} (krb5.conf: {os.environ.get('KRB5_CONFIG', 'the system default')})"


def main(argv=None):
    """Start the emulator, print its URL, serve until SIGTERM or SIGINT; return the exit code."""
    args = parse_args(argv)
    try:
        seed = load_seed(args.seed)
        users_file = os.path.abspath(args.users)
        read_only = args.read_only_user if args.read_only_user is not None else seed["read_only_users"]
        users = UserDirectory(users_file, seed["users"], read_only)
        store = RequestStore(seed["requests"])
    except (OSError, ValueError) as error:
        log(f"error: {error}")
        return 2
    os.environ["NTLM_USER_FILE"] = users_file  # pyspnego's NTLM acceptor reads its users from here
    if args.keytab:
        if not os.path.isfile(args.keytab):
            log(f"error: --keytab {args.keytab}: no such file")
            return 2
        os.environ["KRB5_KTNAME"] = "FILE:" + os.path.abspath(args.keytab)

    state_dir = os.path.abspath(args.state_dir)
    try:
        os.makedirs(state_dir, exist_ok=True)
        tls = None if args.plain_http else TlsMaterial(state_dir, args.host, args.cert_hostname)
        exchanges = ExchangeLog(os.path.join(state_dir, "exchanges.jsonl"))
        admin = AdminDoor(store, FaultBook(args.fault_rules), InFlight())
        server = EmulatorServer((args.host, args.port), CMApi(store, users, args), admin, users, exchanges, tls, args)
    except OSError as error:
        log(f"error: cannot start on {args.host}:{args.port} with state in {state_dir}: {error}")
        return 2
    url = f"{'http' if args.plain_http else 'https'}://{args.host}:{server.server_port}{APP_ROOT}"
    pid_path = os.path.join(state_dir, "emulator.pid")
    for name, text in (("url", url), ("emulator.pid", str(os.getpid()))):
        with open(os.path.join(state_dir, name), "w", encoding="utf-8") as handle:
            handle.write(text + "\n")

    def stop(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    try:
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        print(url, flush=True)
        log(f"MIM CM emulator listening on {url} (state in {state_dir}; read-only users: {', '.join(sorted(read_only)) or 'none'})")
        if tls:
            log(f"server certificate for {', '.join(tls.identities)}; channel bindings: {args.channel_binding}")
        log(f"authentication offered: {', '.join(server.schemes)}; {kerberos_status() if 'Negotiate' in server.schemes else 'no Kerberos'}")
        if args.latency_ms:
            log(f"latency: {args.latency_ms:g} ms per API exchange")
        for rule in args.fault_rules:
            log(f"fault rule: {rule.describe()}")
        server.serve_forever()
    except KeyboardInterrupt as reason:
        log(f"stopping ({reason})")
    finally:
        server.server_close()
        exchanges.close()
        if os.path.exists(pid_path):
            os.remove(pid_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
