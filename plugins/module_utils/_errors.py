# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mim.cm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE and should only be used by this collection.
# Breaking changes may occur at any time.

"""The exceptions of mim.cm: raised in module_utils, turned into fail_json once, in a module's main().

Every message says what was tried, what came back and, where it helps, what to do.
No message ever holds a password: the client never puts one into an exception.
"""

from __future__ import annotations

from typing import Any, Optional


class CmError(Exception):
    """Base class: anything that stops a task, with a message meant for the user."""

    def __init__(self, message: str, **details: Any):
        super().__init__(message)
        self.message = message
        self.details = details


class CmInputError(CmError):
    """The task's options are wrong; raised before any network traffic."""


class CmConnectionError(CmError):
    """No HTTP answer: the server could not be reached, TLS failed, or the call timed out."""


class CmTransientError(CmConnectionError):
    """No usable answer, for a reason that may pass: a dropped connection, a timeout, 429/502/503/504, a garbled body.

    Whether the server acted on the call is unknown. GETs are retried; a PUT's caller reads the request to find out.
    """

    def __init__(self, message: str, reason: str, method: str, path: str, status_code: Optional[int] = None,
                 retry_after: Optional[float] = None):
        super().__init__(message, method=method, api_path=path, status_code=status_code)
        self.reason = reason
        self.status_code = status_code
        self.retry_after = retry_after


class CmApiError(CmError):
    """The server answered with a status code the call does not accept."""

    def __init__(self, message: str, method: str, path: str, status_code: int, server_message: Optional[str] = None,
                 correlation_id: Optional[str] = None):
        super().__init__(
            message,
            method=method,
            api_path=path,
            status_code=status_code,
            server_message=server_message,
            correlation_id=correlation_id,
        )
        self.method = method
        self.path = path
        self.status_code = status_code
        self.server_message = server_message
        self.correlation_id = correlation_id


class CmRequestStateError(CmError):
    """The request is not in a state that allows the change, or did not end where it should."""
