"""The embedded AWS emulator: moto's server, our EC2 extension, faults, and a seeded account.

Used by ``--demo``, ``vpc-mirror sandbox`` and the tests. Every client talks to
it over HTTP with ordinary credentials (:meth:`Sandbox.env`). moto keeps its
state per process, so one sandbox per process at a time.
"""

from __future__ import annotations

import os
import shlex
import signal
import threading
from collections.abc import Iterable
from typing import Any

import boto3
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from . import extension
from .backend_state import MirrorQuotas, state_of
from .catalog import install_public_images
from .faults import FaultInjector, Faults
from .seed import UBUNTU_24_04_PARAMETER, DemoSeed, seed_demo, seed_empty

SEEDS = ("demo", "empty")
#: moto builds its 1,300 default AMIs at every EC2 backend creation, twice per
#: reset (0.2 s each); the sandbox's images are those of ``sandbox.catalog``.
#: moto reads this variable at each creation, so it stays set while a sandbox runs.
_LOAD_DEFAULT_AMIS = "MOTO_EC2_LOAD_DEFAULT_AMIS"

extension.install()


def _checked_seed(seed: str) -> str:
    if seed not in SEEDS:
        raise ValueError(f"seed must be one of {SEEDS}, not {seed!r}")
    return seed


class _QuietRequestHandler(MotoRequestHandler):
    """No access log line per request (the TUI owns the terminal)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class _FaultyMotoServer(ThreadedMotoServer):
    """moto's threaded server with :class:`FaultInjector` in front of its WSGI app."""

    def __init__(self, host: str, port: int, faults: Faults) -> None:
        super().__init__(ip_address=host, port=port, verbose=False)
        self._faults = faults

    def _server_entry(self) -> None:
        app = FaultInjector(DomainDispatcherApplication(create_backend_app), self._faults)
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=_QuietRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


class Sandbox:
    def __init__(
        self,
        *,
        port: int = 0,
        seed: str = "demo",
        fail_rate: float = 0.0,
        deny: Iterable[str] = (),
        region: str = "us-east-1",
        host: str = "127.0.0.1",
        random_seed: int | None = None,
    ) -> None:
        self.region = region
        self.seed = _checked_seed(seed)
        self.faults = Faults(fail_rate, deny, random_seed)
        self.seed_info: DemoSeed | None = None
        self._server = _FaultyMotoServer(host, port, self.faults)
        self._saved_ami_setting: str | None = None
        self._seeder: Any = None
        self.endpoint_url = ""

    # -- lifecycle ----------------------------------------------------------
    def start(self) -> Sandbox:
        self._saved_ami_setting = os.environ.get(_LOAD_DEFAULT_AMIS)
        os.environ[_LOAD_DEFAULT_AMIS] = "false"
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self._seeder = self.client("ec2")
        self.reset()
        return self

    def stop(self) -> None:
        self._server.stop()
        if self._saved_ami_setting is None:
            os.environ.pop(_LOAD_DEFAULT_AMIS, None)
        else:
            os.environ[_LOAD_DEFAULT_AMIS] = self._saved_ami_setting

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self, seed: str | None = None) -> None:
        """Wipe all moto state (every service, account and region) and seed again."""
        if seed is not None:
            self.seed = _checked_seed(seed)
        moto_api_backend.reset()
        images = install_public_images(DEFAULT_ACCOUNT_ID, self.region)
        with self.faults.paused():
            if self.seed == "demo":
                self.seed_info = seed_demo(self._seeder, images[UBUNTU_24_04_PARAMETER])
            else:
                seed_empty(self._seeder)
                self.seed_info = None

    # -- knobs --------------------------------------------------------------
    def set_console_output(self, instance_id: str, text: str) -> None:
        """What GetConsoleOutput answers for ``instance_id`` (plain text; the API base64s it)."""
        backend = ec2_backends[DEFAULT_ACCOUNT_ID][self.region]
        backend.get_instance(instance_id)
        state_of(backend).console_output[instance_id] = text

    def set_mirror_quotas(self, quotas: MirrorQuotas) -> None:
        """Lower the account's traffic-mirroring quotas (AWS: 10,000 each) so that a test
        meets the refusal without 10,000 creates; the next reset restores AWS's numbers."""
        state_of(ec2_backends[DEFAULT_ACCOUNT_ID][self.region]).mirror_quotas = quotas

    def set_fail_rate(self, rate: float) -> None:
        """Answer this fraction of EC2 calls with RequestLimitExceeded, before they do anything."""
        self.faults.fail_rate = rate

    def set_latency(self, seconds: float) -> None:
        """Hold each EC2 call this long before answering, like AWS's round trip (benchmarks)."""
        self.faults.latency = seconds

    def set_denied(self, actions: Iterable[str]) -> None:
        """Answer these permissions (``"ec2:CreateTrafficMirrorSession"``) with UnauthorizedOperation."""
        self.faults.denied = frozenset(actions)

    # -- clients --------------------------------------------------------------
    def env(self) -> dict[str, str]:
        return {
            "VPC_MIRROR_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
        }

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client on this sandbox (a fresh session: no profile or env leaks in)."""
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=self.region
        )
        return session.client(service, endpoint_url=self.endpoint_url, **kwargs)


def run_forever(port: int, seed: str, fail_rate: float, deny: Iterable[str]) -> None:
    """``vpc-mirror sandbox``: serve until Ctrl-C (or SIGTERM), printing how to point clients at it."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # before anything is printed: a client may send it at once
    with Sandbox(port=port, seed=seed, fail_rate=fail_rate, deny=deny) as sandbox:
        print(f"vpc-mirror sandbox ({seed}) listening on {sandbox.endpoint_url}")
        for name, value in sandbox.env().items():
            print(f"export {name}={shlex.quote(value)}")
        if sandbox.seed_info is not None:
            for name, instance_id in sandbox.seed_info.instances.items():
                print(f"# {name}: {instance_id}")
        print("Press Ctrl-C to stop.", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    print("vpc-mirror sandbox stopped")
