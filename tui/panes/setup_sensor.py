"""Reaching an applied setup's sensor from the wizard: its address, login and console fingerprints from the
setup (the answers win), the host key and sudo asked in the Zeek pane's dialogs. asyncssh and boto3 are
imported when connecting (start-up time)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from textual.app import App

from vpc_mirror.tui.panes.zeek import connect_sensor


async def connect_setup_sensor(app: App, ctx, known_hosts: Path, log: Callable[[str], None],
                               ssh_config: Sequence[str] | None = None):
    """A ``steps.ssh.Sensor`` connected to the sensor of ``ctx``'s setup (call from a worker on the app's loop)."""
    from vpc_mirror.steps.ssh import SshTarget  # asyncssh: only when connecting (start-up time)
    from vpc_mirror.steps.zeek_target import sensor_login

    host, user, _, fingerprints = await asyncio.to_thread(sensor_login, ctx)
    answers = ctx.plan.zeek
    host, user = answers.host or host, answers.user or user
    if host is None:
        raise ValueError("the sensor has no address in the saved state; set Zeek up on the Zeek page first")
    target = SshTarget(host=host, port=answers.port, user=user, known_hosts=known_hosts, ssh_config=ssh_config,
                       identity=Path(answers.identity).expanduser() if answers.identity else None)
    log(f"Connecting to {target.label}…")
    return await connect_sensor(app, target, fingerprints, log)
