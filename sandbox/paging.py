"""Describe* paging as EC2 does it: MaxResults within 5-1000, an opaque NextToken bound to its query.

The API pages of DescribeTrafficMirrorFilters, DescribeTrafficMirrorFilterRules,
DescribeTrafficMirrorTargets and DescribeTrafficMirrorSessions
(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeTrafficMirrorSessions.html
and its siblings) give MaxResults "Valid Range: Minimum value of 5. Maximum value
of 1000" and NextToken "The token for the next page of results"; botocore's
paginators (``describe_traffic_mirror_*``) walk them with ``NextToken``.

- MaxResults outside the range: ``InvalidParameterValue``, in the words EC2 uses
  ("Value ( 1 ) for parameter maxResults is invalid. Expecting a value greater
  than 5.", quoted in aws/aws-sdk-ruby#2575). botocore refuses a value under 5
  before sending it; a value over 1000 reaches the server.
- No MaxResults: AWS documents no default page size for these actions, so the
  sandbox answers everything up to the largest page allowed, 1000.
- A NextToken that the sandbox did not hand out for the same query (same action,
  same ids and filters): ``InvalidPaginationToken``, "The specified pagination
  token is not valid or is expired" (common client error codes,
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).

Pages are in id order and a token remembers the last id it covered, so a
resource deleted or created between two pages neither shifts nor repeats the rest.
A token is not base64-encoded JSON: botocore's paginators would take a
StartingToken of that shape for one of their own and decode it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from . import errors

MIN_RESULTS = 5
MAX_RESULTS = 1000
#: AWS documents no default; the largest page allowed.
DEFAULT_PAGE_SIZE = MAX_RESULTS
#: Parameters that do not make two requests a different query.
_NOT_THE_QUERY = ("NextToken", "MaxResults", "DryRun")



class Identified(Protocol):
    id: str


Item = TypeVar("Item", bound=Identified)


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: list[Item]
    next_token: str | None


def _query_digest(action: str, params: dict[str, Any]) -> str:
    query = {k: v for k, v in params.items() if k not in _NOT_THE_QUERY}
    text = json.dumps([action, query], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _token(digest: str, last_id: str) -> str:
    """Not base64 JSON: botocore's paginators take a StartingToken of that shape for one of their own."""
    return base64.urlsafe_b64encode(f"{digest}/{last_id}".encode()).decode()


def _start_after(token: str, digest: str) -> str:
    try:
        query, _, after = base64.urlsafe_b64decode(token.encode()).decode().partition("/")
    except (binascii.Error, ValueError):
        raise errors.InvalidPaginationToken(token) from None
    if query != digest or not after:
        raise errors.InvalidPaginationToken(token)
    return after


def page_of(resources: Sequence[Item], action: str, params: dict[str, Any]) -> Page[Item]:
    """One page of ``resources`` (each with an ``id``) for the request ``params`` of ``action``."""
    size = params.get("MaxResults")
    if size is None:
        size = DEFAULT_PAGE_SIZE
    elif int(size) < MIN_RESULTS:
        raise errors.InvalidParameterValue(
            f"Value ( {size} ) for parameter maxResults is invalid. Expecting a value greater than {MIN_RESULTS}."
        )
    elif int(size) > MAX_RESULTS:
        raise errors.InvalidParameterValue(
            f"Value ( {size} ) for parameter maxResults is invalid. "
            f"Expecting a value smaller than or equal to {MAX_RESULTS}."
        )
    size = int(size)
    digest = _query_digest(action, params)
    ordered = sorted(resources, key=lambda r: r.id)
    token = params.get("NextToken")
    if token:
        after = _start_after(token, digest)
        ordered = [r for r in ordered if r.id > after]
    items = ordered[:size]
    more = len(ordered) > size
    return Page(items, _token(digest, items[-1].id) if more else None)
