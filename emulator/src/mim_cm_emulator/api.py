"""The MIM CM REST API routes under /CertificateManagement/api/v1.0/: no sockets here, method, path, query,
body and user in, a Reply out: requests (read, search, change, create) and profile templates with their workflow
policies. Behaviour switches from the command line (unknown GUID, empty search, PUT answer, request type numbers).
"""

import json
from urllib.parse import parse_qsl

from .common import API_V1, APP_ROOT, guid_key, lower_keys
from .replies import ApiError, bad_request, json_reply, message_reply, no_content, server_error
from .store import ALL_REQUEST_TYPES, ChangeRefused, REQUEST_TYPES, STATUS, TemplateCatalog, TRANSITIONS


class CMApi:
    """The /CertificateManagement/api/v1.0/ routes, with the behaviour switches from the command line."""

    def __init__(self, store, users, options, templates=None):
        self.store = store
        self.users = users
        self.templates = templates or TemplateCatalog([])
        # The request types POST takes, and their numbers: the documented two, or all with the emulator's own numbers.
        self.request_types = REQUEST_TYPES if getattr(options, "request_types", "emulator") == "documented" else ALL_REQUEST_TYPES
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
        if route[0] == "profiletemplates":
            return self.handle_templates(method, path, query, route, user, not_found)
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

    def handle_templates(self, method, path, query, route, user, not_found):
        """GET profiletemplates[?targetuser=current], profiletemplates/{id}, and the workflow policy of a template for a
        request type: profiletemplates/{id}/policies/{type} (the examples' form) or .../policy/workflow/{type} (the
        reference's form), the same answer."""
        parts = path.rstrip("/").split("/")[-len(route):]  # as sent: the GUID and type in their own case
        type_name = None
        if len(route) == 4 and route[2] == "policies":
            type_name = parts[3]
        elif len(route) == 5 and route[2:4] == ["policy", "workflow"]:
            type_name = parts[4]
        elif len(route) > 2:
            return not_found
        if method != "GET":
            return message_reply(405, f"The requested resource does not support http method '{method}'.")
        try:
            return self.list_templates(query) if len(route) == 1 else self.get_template(parts[1], type_name, user)
        except ApiError as error:
            return error.reply

    def get_template(self, guid, type_name, user):
        """GET profiletemplates/{id} (type_name None), or the template's workflow policy for that request type."""
        if guid_key(guid) is None:
            return message_reply(400, f"The request is invalid. '{guid}' is not a valid value for the parameter 'id' of type 'System.Guid'.")
        template = self.templates.get(guid)
        if template is None:
            return self.unknown("profile template", guid, user)
        if type_name is None:
            return json_reply(200, template)
        known = {name.lower(): name for name in ALL_REQUEST_TYPES}.get(type_name.lower())
        if known is None:
            raise bad_request(f"'{type_name}' is not a request type; use one of {', '.join(ALL_REQUEST_TYPES)}.")
        return json_reply(200, self.templates.policy(guid, known))

    def list_templates(self, query):
        """GET profiletemplates: every template (the emulator does not limit them per user); only targetuser=current."""
        for key, value in parse_qsl(query, keep_blank_values=True):
            if key.lower() != "targetuser" or value.lower() != "current":
                raise bad_request(f"The value '{value}' is not valid for {key}; only targetuser=current is supported.")
        templates = self.templates.all()
        if not templates and self.empty_search == "204":
            return no_content()
        return json_reply(200, templates)

    def unknown(self, what, guid, user):
        """The answer for a GUID nothing has (GET): per --unknown-request, 204 by default."""
        if self.unknown_request == "404":
            return message_reply(404, f"The {what} {guid} could not be found.")
        if self.unknown_request == "403":
            return message_reply(403, f"The user {user} does not have permission to read the {what} {guid}.")
        return no_content()

    def get(self, guid, user, **_unused):
        """GET requests/{id}"""
        request = self.store.get(guid)
        if request is not None:
            return json_reply(200, request)
        return self.unknown("request", guid, user)

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
        """POST requests {profiletemplateuuid, datacollection, target, type, comment, priority[, smartcard]}

        400 for a body that does not bind; 403 for a read-only user; 500 (with a correlation ID) when the template is
        unknown, its workflow policy for the type is disabled, or a data item the policy requires is missing. The new
        request is Pending while the policy needs approvals, Approved when it needs none.
        """
        fields = lower_keys(parse_json_object(body))
        template = fields.get("profiletemplateuuid")
        if guid_key(template) is None:
            raise bad_request("profiletemplateuuid must be a GUID.")
        type_name = fields.get("type")
        type_name = {name.lower(): name for name in self.request_types}.get(type_name.lower()) if isinstance(type_name, str) else None
        if type_name is None:
            raise bad_request(f"type must be one of {', '.join(self.request_types)}; got {json.dumps(fields.get('type'))}.")
        target = fields.get("target") or self.users.guid(user)
        if guid_key(target) is None:
            raise bad_request("target must be a GUID.")
        comment = fields.get("comment") or ""
        if not isinstance(comment, str):
            raise bad_request("comment must be a string.")
        smartcard = fields.get("smartcard")
        if smartcard is not None and guid_key(smartcard) is None:
            raise bad_request("smartcard must be a GUID.")
        new_request = {
            "RequestType": self.request_types[type_name],
            "DataCollection": parse_data_collection(fields.get("datacollection")),
            "OriginatorUserUuid": self.users.guid(user),
            "TargetUserUuid": target,
            "Priority": parse_priority(fields.get("priority")),
            "Comment": comment,
            "ProfileTemplateUuid": template,
        }
        if smartcard is not None:
            new_request["OldSmartcardUuid"] = smartcard  # the card the request acts on (inferred: not in the property table)
        self.check_writer(user, "create requests")
        status, refusal = self.submission_status(template, type_name, new_request["DataCollection"])
        if refusal:
            return server_error(refusal)
        new_request["IsSmartcard"] = bool(self.templates.get(template).get("IsSmartcard", False))
        request = self.store.create(new_request, status)
        location = f"api/v1.0/requests/{request['Uuid']}"
        reply = json_reply(201, location, headers=[("Location", f"{base_url}{APP_ROOT}/{location}")])
        reply.applied = True
        return reply

    def submission_status(self, template_id, type_name, data_collection):
        """(the status a new request starts in, None) or (None, why the server refuses it) from the workflow policy."""
        template = self.templates.get(template_id)
        if template is None:
            return None, f"The profile template {template_id} could not be found."
        policy = self.templates.policy(template_id, type_name)
        if not policy["Enabled"]:
            return None, f"The {type_name} workflow policy of the profile template '{template['Name']}' is disabled."
        given = {item["Name"].lower() for item in data_collection if isinstance(item["Value"], str) and item["Value"].strip()}
        missing = [item["Name"] for item in policy["PolicyDataCollection"] if item["Required"] and item["Name"].lower() not in given]
        if missing:
            return None, (f"The data collection item(s) {', '.join(missing)} required by the {type_name} workflow policy of the "
                          f"profile template '{template['Name']}' are missing.")
        return ("Pending" if policy["ApprovalsNeeded"] > 0 else "Approved"), None

    def check_writer(self, user, what):
        """Raise a 403 ApiError for a read-only user."""
        if self.users.is_read_only(user):
            raise ApiError(message_reply(403, f"The user {user} does not have permission to {what}."))


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
