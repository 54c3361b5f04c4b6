"""The AWS adapter: one boto3 session, thread-safe clients, calls observable.

The session is made on the caller's thread (boto3 sessions are not thread-safe);
the clients it makes are, and the engine uses them from worker threads. Retries
are botocore's adaptive mode, which also paces calls when AWS throttles.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

from vpc_mirror.steps.problems import UserProblem

#: Calls that change nothing; every other EC2 or Elastic Load Balancing call counts as mutating.
READ_ONLY_PREFIXES = ("Describe", "Get", "List")


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    """One loader per process: it caches the parsed service models, which cost
    ~0.4 s of JSON parsing per new session otherwise."""
    return botocore.loaders.create_loader()


def is_mutating(operation: str) -> bool:
    return not operation.startswith(READ_ONLY_PREFIXES)


CallHook = Callable[[str, dict], None]


class NoSuchProfile(UserProblem):
    """The AWS profile asked for is not configured on this machine."""


@dataclass
class Aws:
    """Clients for one profile and region, optionally against an emulator endpoint."""

    region: str
    profile: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = 10
    pool: int = 20
    _clients: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        core = botocore.session.Session(profile=self.profile)
        if self.profile is not None and self.profile not in core.available_profiles:
            known = ", ".join(sorted(core.available_profiles)) or "none are configured"
            raise NoSuchProfile(f"AWS profile {self.profile!r} is not in ~/.aws/config or ~/.aws/credentials "
                                f"(known: {known}); give one of them with --profile or account.profile, "
                                "or leave it out for the default credential chain")
        core.register_component("data_loader", _shared_loader())
        self.session = boto3.Session(botocore_session=core, region_name=self.region)
        self.config = Config(
            retries={"mode": "adaptive", "max_attempts": self.max_attempts},
            connect_timeout=10,
            read_timeout=60,
            max_pool_connections=self.pool,
        )
        # Make every client now, on this thread: creating clients is not thread-safe.
        for service in ("ec2", "elbv2", "sts", "ssm"):
            self._clients[service] = self.session.client(
                service, endpoint_url=self.endpoint_url, config=self.config
            )

    @property
    def ec2(self):
        return self._clients["ec2"]

    @property
    def elbv2(self):
        """Elastic Load Balancing v2: the Network and Gateway Load Balancers, target groups and listeners."""
        return self._clients["elbv2"]

    def client(self, service: str):
        """The client of ``service`` ("ec2", "elbv2", ...), for code that is given an Action's service."""
        return self._clients[service]

    @property
    def sts(self):
        return self._clients["sts"]

    @property
    def ssm(self):
        return self._clients["ssm"]

    def on_call(self, before: CallHook | None = None, after: CallHook | None = None) -> None:
        """Observe every API call: ``before(operation, params)`` runs before it is
        sent, with the call's own keyword arguments; ``after(operation, {})`` once
        it has answered (after retries)."""
        for client in self._clients.values():
            service = client.meta.service_model.service_name
            if before:
                client.meta.events.register(
                    f"before-parameter-build.{service}",
                    lambda model, params, **_: before(model.name, params),
                )
            if after:
                client.meta.events.register(
                    f"after-call.{service}",
                    lambda model, **_: after(model.name, {}),
                )
