"""HTTP answers as values (Reply), and the shapes the server gives them: ASP.NET Web API's {"Message"} errors,
500s with a correlation ID, and the HTML pages IIS and its proxies send.
"""

import http
import json
import uuid

from .common import JSON_TYPE, log

UNAUTHORIZED_HTML = (
    "<!DOCTYPE html>\r\n<html><head><title>401 - Unauthorized: Access is denied due to invalid credentials.</title></head>\r\n"
    "<body><h1>Server Error</h1><h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2>\r\n"
    "<h3>You do not have permission to view this directory or page using the credentials that you supplied.</h3></body></html>\r\n"
).encode("ascii")


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


def server_error(reason):
    """ASP.NET-style unhandled error: 500, a Message with a new correlation ID, also logged."""
    correlation = str(uuid.uuid4())
    log(f"500 correlation ID {correlation}: {reason}")
    return message_reply(500, f"An error has occurred. {reason} Correlation ID: {correlation}")


def has_body(code):
    """Whether an answer with this status carries a body (1xx, 204 and 304 never do)."""
    return code >= 200 and code not in (204, 304)


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
