"""ClientToken idempotency, as EC2 documents it.

"Ensuring idempotency in Amazon EC2 API requests"
(https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html):
a retried request with the same client token and the same parameters returns
the result of the original request without doing anything new; the same token
with different parameters fails with IdempotentParameterMismatch. "A client
token is a unique, case-sensitive string of up to 64 ASCII characters" (same
page; the API pages of RunInstances and the traffic-mirroring creates say
"Constraints: Maximum 64 ASCII characters"): a longer token is refused with
InvalidParameterValue, the common code for "A value specified in a parameter is
not valid" (AWS documents no more specific code for it).

moto ignores ClientToken, so the sandbox wraps the create actions the wizard
retries (traffic-mirror filters, rules, targets, sessions, RunInstances and
CreateNetworkInterface) with :func:`idempotent`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult

from .backend_state import state_of
from .errors import IdempotentParameterMismatch, InvalidParameterValue

#: Parameters that do not make two requests different.
_NOT_COMPARED = ("ClientToken", "DryRun")
MAX_CLIENT_TOKEN_LENGTH = 64


def _fingerprint(params: dict[str, Any]) -> str:
    compared = {k: v for k, v in params.items() if k not in _NOT_COMPARED}
    return json.dumps(compared, sort_keys=True, default=str)


def idempotent(action: Callable[[Any], ActionResult]) -> Callable[[Any], ActionResult]:
    """Wrap an ``EC2Response`` action method so that it honours ClientToken."""

    @functools.wraps(action)
    def run(response: Any) -> ActionResult:
        token = response._get_param("ClientToken")
        if not token:
            return action(response)
        if len(token) > MAX_CLIENT_TOKEN_LENGTH or not token.isascii():
            raise InvalidParameterValue(
                f"Value ({token}) for parameter clientToken is invalid. "
                f"It must be at most {MAX_CLIENT_TOKEN_LENGTH} ASCII characters."
            )
        state = state_of(response.ec2_backend)
        key = (action.__name__, token)
        fingerprint = _fingerprint(response.params)
        with state.lock:
            if key in state.client_tokens:
                seen, result = state.client_tokens[key]
                if seen != fingerprint:
                    raise IdempotentParameterMismatch(token)
                return result
            result = action(response)
            state.client_tokens[key] = (fingerprint, result)
            return result

    return run
