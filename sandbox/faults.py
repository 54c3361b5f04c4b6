"""Throttling, missing permissions and DryRun for EC2 calls, as AWS answers them.

A WSGI middleware in front of moto's app, so it works for any client over
HTTP and answers before moto does anything (a throttled or refused call has
no effect). It looks only at EC2 requests (SigV4 credential scope ``ec2``;
EC2 query protocol, ``Action=...`` in the form body or query string). Answers:

- Throttling: HTTP 503, ``RequestLimitExceeded`` "Request limit exceeded."
  ("Error codes for the Amazon EC2 API", server error codes, and "Request
  throttling for the Amazon EC2 API",
  https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html).
- A denied action: HTTP 403, ``UnauthorizedOperation`` with IAM's "User: ... is
  not authorized to perform: ec2:Action ..." message - also for a DryRun call,
  since DryRun answers UnauthorizedOperation when permission is missing.
- An allowed DryRun call: HTTP 412, ``DryRunOperation`` "Request would have
  succeeded, but DryRun flag is set." Every EC2 action documents DryRun this
  way ("Checks whether you have the required permissions for the action,
  without actually making the request"); moto skips it for some actions (the
  traffic-mirroring ones among them), so it is answered here for all of them.
"""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from moto.core import DEFAULT_ACCOUNT_ID

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")
_STATUS = {403: "403 Forbidden", 412: "412 Precondition Failed", 503: "503 Service Unavailable"}


class Faults:
    """What to inject; changed at any time from any thread (``Sandbox.set_*``)."""

    def __init__(self, fail_rate: float = 0.0, deny: Iterable[str] = (), seed: int | None = None,
                 latency: float = 0.0) -> None:
        self.fail_rate = fail_rate
        #: seconds each EC2 call takes before it is answered, like AWS's round trip (benchmarks)
        self.latency = latency
        self.denied = frozenset(deny)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._paused = 0

    def throttles(self) -> bool:
        with self._lock:
            return not self._paused and self._random.random() < self.fail_rate

    def denies(self, permission: str) -> bool:
        return not self._paused and permission in self.denied

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No faults while the sandbox seeds itself through its own API."""
        with self._lock:
            self._paused += 1
        try:
            yield
        finally:
            with self._lock:
                self._paused -= 1


def ec2_error(status: int, code: str, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """An EC2 error response ("Error codes for the Amazon EC2 API", example error response)."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{code}</Code><Message>{escape(message)}</Message></Error></Errors>"
        f"<RequestID>{uuid.uuid4()}</RequestID></Response>"
    ).encode()
    headers = [("Content-Type", "text/xml;charset=UTF-8"), ("Content-Length", str(len(body)))]
    return _STATUS[status], headers, body


def unauthorized_message(permission: str, region: str) -> str:
    """IAM's wording for an implicit deny, as EC2 returns it (unencoded here)."""
    return (
        "You are not authorized to perform this operation. "
        f"User: arn:aws:iam::{DEFAULT_ACCOUNT_ID}:user/moto is not authorized to perform: {permission} "
        f"on resource: arn:aws:ec2:{region}:{DEFAULT_ACCOUNT_ID}:* "
        f"because no identity-based policy allows the {permission} action"
    )


class FaultInjector:
    """WSGI middleware: answers EC2 calls the way :class:`Faults` says, else passes them on."""

    def __init__(self, app: Callable[..., Any], faults: Faults) -> None:
        self.app = app
        self.faults = faults

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if not scope or scope["service"] != "ec2":
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = BytesIO(body)
        params = parse_qs(environ.get("QUERY_STRING", "")) | parse_qs(body.decode("utf-8", "replace"))
        action = params.get("Action", [""])[0]
        permission = f"ec2:{action}"
        if self.faults.latency and not self.faults._paused:
            time.sleep(self.faults.latency)
        if self.faults.throttles():
            answer = ec2_error(503, "RequestLimitExceeded", "Request limit exceeded.")
        elif self.faults.denies(permission):
            answer = ec2_error(403, "UnauthorizedOperation", unauthorized_message(permission, scope["region"]))
        elif params.get("DryRun", ["false"])[0].lower() == "true":
            answer = ec2_error(412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
        else:
            return self.app(environ, start_response)
        status, headers, payload = answer
        start_response(status, headers)
        return [payload]
