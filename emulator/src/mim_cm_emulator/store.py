"""The emulator's data: the seed file, the Request model (fields, defaults, status numbers and the PUT
transitions), the thread-safe request store and the user directory (who may log in, their GUIDs, who is read-only).
"""

import copy
import json
import re
import threading
import uuid

from .common import guid_key, log, lower_keys, utc_now_text

ZERO_GUID = "00000000-0000-0000-0000-000000000000"
NOT_COMPLETED = "0001-01-01T00:00:00"
SDDL_PADDING = "\u0000" * 4
DEFAULT_SDDL = (
    "O:S-1-5-21-1004336348-1177238915-682003330-512G:S-1-5-21-1004336348-1177238915-682003330-513"
    "D:(A;;CCLCSWRPWPDTLOCRRC;;;S-1-5-21-1004336348-1177238915-682003330-512)(A;;LCRPCR;;;AU)"
)


# RequestStatus numbers (the collection's docs/docsite/rst/architecture.rst, with their confidence): names go in as strings, numbers come out.
STATUS = {"None": 0, "Approved": 3, "Denied": 4, "Completed": 8, "Failed": 9, "Pending": 16, "Canceled": 17, "Executing": 18}


STATUS_NAMES = {number: name for name, number in STATUS.items()}


# RequestType names with a documented number; other numbers may be seeded and are shown as they are.
REQUEST_TYPES = {"Enroll": 1, "Unblock": 5}
# The other names POST accepts (the documented POST body's `type`) have no number anywhere in the docs. The emulator gives them numbers
# of its own, from 101 up so nobody mistakes them for real ones (--request-types documented refuses them instead).
EMULATOR_REQUEST_TYPES = {
    "Duplicate": 101, "OfflineUnblock": 102, "OnlineUpdate": 103, "Renew": 104, "Recover": 105, "RecoverOnBehalf": 106,
    "Reinstate": 107, "Retire": 108, "Revoke": 109, "TemporaryCards": 110,
}
ALL_REQUEST_TYPES = dict(REQUEST_TYPES, **EMULATOR_REQUEST_TYPES)


# PUT {"status": X}: X -> (statuses it may start from, status it leaves). Everything else is refused.
# Which "from" statuses are inferred is in the maintainers' architecture page; --transition changes them.
TRANSITIONS = {
    "Completed": ((STATUS["Approved"], STATUS["Executing"]), STATUS["Completed"]),
    "Canceled": ((STATUS["Pending"], STATUS["Approved"], STATUS["Executing"]), STATUS["Canceled"]),
    "Abandoned": ((STATUS["Approved"], STATUS["Executing"]), STATUS["Failed"]),
}


def parse_transition(text):
    """--transition TARGET=FROM[,FROM...] as (target, status numbers it may start from); ValueError if malformed.

    FROM may be empty (TARGET= refuses every change to TARGET). Names in any letter case.
    """
    target_text, separator, from_text = text.partition("=")
    target = {name.lower(): name for name in TRANSITIONS}.get(target_text.strip().lower())
    if not separator or target is None:
        raise ValueError(f"give TARGET=FROM[,FROM...] with TARGET one of {', '.join(TRANSITIONS)}")
    numbers = {name.lower(): number for name, number in STATUS.items()}
    allowed = []
    for name in filter(None, (part.strip() for part in from_text.split(","))):
        if name.lower() not in numbers:
            raise ValueError(f"{name!r} is not a status; use {', '.join(STATUS)}")
        allowed.append(numbers[name.lower()])
    return target, tuple(allowed)


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


class SeedError(ValueError):
    """The seed file (or a request in it) is not valid."""


def _check_field(name, kind, value, where):
    """Validate one seeded field and return the value to store."""
    if kind == "guid":
        if guid_key(value) is None:
            raise SeedError(f"{where}: {name} must be a GUID, not {value!r}")
        return value
    if kind in ("int", "byte"):
        return _check_integer(name, kind, value, where)
    if kind == "bool":
        if not isinstance(value, bool):
            raise SeedError(f"{where}: {name} must be true or false, not {value!r}")
        return value
    if kind == "datacollection":
        return _check_data_collection(value, where)
    return _check_text(name, kind, value, where)


def _check_integer(name, kind, value, where):
    """An int field, or a byte one (0-255), as seeded."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SeedError(f"{where}: {name} must be an integer, not {value!r}")
    if kind == "byte" and not 0 <= value <= 255:
        raise SeedError(f"{where}: {name} must be 0-255, not {value!r}")
    return value


def _check_text(name, kind, value, where):
    """A string field as stored: an SDDL with the API's NUL padding, a date with "now..." resolved."""
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


# A workflow policy: key, default for a policy the seed gives (a type the seed gives no policy for is disabled).
POLICY_FIELDS = (
    ("ApprovalsNeeded", 0),
    ("CollectComments", False),
    ("Enabled", True),
    ("SelfServiceEnabled", True),
    ("EnrollAgentRequired", False),
    ("PolicyDataCollection", ()),
)


def disabled_policy():
    """The policy of a request type the template has none for: switched off."""
    return dict(make_policy({}, "no policy"), Enabled=False)


def make_policy(raw, where):
    """A workflow policy in API key order from a (possibly partial) PascalCase dict, with defaults."""
    if not isinstance(raw, dict):
        raise SeedError(f"{where}: a policy must be a JSON object")
    by_lower = {name.lower(): name for name, _default in POLICY_FIELDS}
    raw = {key: value for key, value in raw.items() if not key.startswith("_")}  # _: comments
    unknown = [key for key in raw if key.lower() not in by_lower]
    if unknown:
        raise SeedError(f"{where}: unknown policy fields {unknown}; known: {', '.join(by_lower.values())}")
    given = {by_lower[key.lower()]: value for key, value in raw.items()}
    policy = {name: given.get(name, copy.deepcopy(default)) for name, default in POLICY_FIELDS}
    approvals = policy["ApprovalsNeeded"]
    if isinstance(approvals, bool) or not isinstance(approvals, int) or approvals < 0:
        raise SeedError(f"{where}: ApprovalsNeeded must be a whole number >= 0, not {approvals!r}")
    for name in ("CollectComments", "Enabled", "SelfServiceEnabled", "EnrollAgentRequired"):
        if not isinstance(policy[name], bool):
            raise SeedError(f"{where}: {name} must be true or false, not {policy[name]!r}")
    items = []
    for item in policy["PolicyDataCollection"] if isinstance(policy["PolicyDataCollection"], (list, tuple)) else [None]:
        folded = lower_keys(item) if isinstance(item, dict) else {}
        if not isinstance(folded.get("name"), str) or not isinstance(folded.get("required", False), bool) or set(folded) - {"name", "required"}:
            raise SeedError(f"{where}: PolicyDataCollection must be a list of {{Name, Required (true or false)}}")
        items.append({"Name": folded["name"], "Required": folded.get("required", False)})
    policy["PolicyDataCollection"] = items
    return policy


def make_template(raw, where):
    """(the profile template as the API shows it, its policies by request type name) from a seed entry."""
    if not isinstance(raw, dict):
        raise SeedError(f"{where}: a profile template must be a JSON object")
    template = {key: value for key, value in raw.items() if key.lower() != "policies" and not key.startswith("_")}  # _: comments
    folded = lower_keys(template)
    if guid_key(folded.get("uuid")) is None or not isinstance(folded.get("name"), str) or not folded["name"].strip():
        raise SeedError(f"{where}: a profile template needs a GUID Uuid and a Name")
    template = dict({"Uuid": folded["uuid"], "Name": folded["name"], "IsSmartcard": False},
                    **{key: value for key, value in template.items() if key.lower() not in ("uuid", "name")})
    raw_policies = next((value for key, value in raw.items() if key.lower() == "policies"), {})
    if not isinstance(raw_policies, dict):
        raise SeedError(f"{where}: policies must map request type names to policies")
    type_names = {name.lower(): name for name in ALL_REQUEST_TYPES}
    policies = {}
    for type_name, policy in raw_policies.items():
        if type_name.lower() not in type_names:
            raise SeedError(f"{where}: policies: {type_name!r} is not a request type; known: {', '.join(ALL_REQUEST_TYPES)}")
        policies[type_names[type_name.lower()]] = make_policy(policy, f"{where} policies.{type_name}")
    return template, policies


class TemplateCatalog:
    """The profile templates and their workflow policies: read-only after start-up, so no lock."""

    def __init__(self, seed_templates):
        self._templates = {}
        self._policies = {}
        for template, policies in seed_templates:
            key = guid_key(template["Uuid"])
            if key in self._templates:
                raise SeedError(f"duplicate profile template GUID in the seed: {key}")
            self._templates[key] = template
            self._policies[key] = policies

    def all(self):
        """Every template, in seed order."""
        return [copy.deepcopy(template) for template in self._templates.values()]

    def get(self, guid):
        """One template by GUID (any case), or None."""
        template = self._templates.get(guid_key(guid))
        return copy.deepcopy(template) if template else None

    def policy(self, guid, type_name):
        """The workflow policy of this template for this request type name (a disabled one if the seed gives none)."""
        policies = self._policies.get(guid_key(guid), {})
        return copy.deepcopy(policies.get(type_name) or disabled_policy())


def load_seed(path):
    """Read the seed file: {"users": {name: guid}, "read_only_users": [name], "requests": [...], "profile_templates": [...]}."""
    with open(path, encoding="utf-8") as handle:
        seed = json.load(handle)
    if not isinstance(seed, dict):
        raise SeedError(f"{path}: the seed must be a JSON object")
    unknown = [key for key in seed if key not in ("users", "read_only_users", "requests", "profile_templates") and not key.startswith("_")]
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
    templates = seed.get("profile_templates", [])
    if not isinstance(templates, list):
        raise SeedError(f"{path}: profile_templates must be a list")
    return {
        "users": users,
        "read_only_users": read_only,
        "requests": [make_request(raw, f"{path} requests[{index}]") for index, raw in enumerate(requests)],
        "profile_templates": [make_template(raw, f"{path} profile_templates[{index}]") for index, raw in enumerate(templates)],
    }


class ChangeRefused(Exception):
    """The server refuses a status change (answered as a 500 with a correlation ID)."""


class RequestStore:
    """The requests, keyed by lower-case GUID; every method is thread-safe and returns copies."""

    def __init__(self, seed_requests, allowed_from=None):
        """allowed_from: {PUT target: status numbers it may start from} replacing those of TRANSITIONS (--transition)."""
        self._transitions = {target: ((allowed_from or {}).get(target, allowed), result)
                             for target, (allowed, result) in TRANSITIONS.items()}
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
        allowed, result = self._transitions[target]
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

    def create(self, fields, status="Pending"):
        """Store a new request (Pending, or the status given) from API fields; return it."""
        request = make_request(dict(fields, Uuid=str(uuid.uuid4()), Status=STATUS[status], Submitted=utc_now_text()))
        with self._lock:
            self._items[guid_key(request["Uuid"])] = request
            return copy.deepcopy(request)

    def add(self, raw):
        """Store one request given as in the seed (a Uuid is made up when it has none); SeedError if invalid or taken."""
        if isinstance(raw, dict) and not any(key.lower() == "uuid" for key in raw):
            raw = dict(raw, Uuid=str(uuid.uuid4()))
        request = make_request(raw, "the request")
        with self._lock:
            if guid_key(request["Uuid"]) in self._items:
                raise SeedError(f"a request {request['Uuid']} exists already")
            self._items[guid_key(request["Uuid"])] = request
            return copy.deepcopy(request)

    def portal_action(self, guid, allowed, result):
        """What the CM portal does to a request (approve, deny, execute): from a status in `allowed` to `result`.

        Returns the request; None if there is no such request; raises ChangeRefused from another status.
        """
        with self._lock:
            request = self._items.get(guid_key(guid))
            if request is None:
                return None
            current = request["Status"]
            if current not in [STATUS[name] for name in allowed]:
                raise ChangeRefused(f"the request {request['Uuid']} is {STATUS_NAMES.get(current, current)}, not {' or '.join(allowed)}")
            request["Status"] = STATUS[result]
            if result == "Completed":
                request["Completed"] = utc_now_text()
            return copy.deepcopy(request)


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
