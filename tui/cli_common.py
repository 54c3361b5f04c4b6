"""What every ``vpc-mirror`` command shares: exit codes, the user-facing error, global options, prompts.

The command modules (cli.py and the ``*_cli.py`` beside it) import this, never
each other's privates, so the command line has no import cycle. Like them, it
imports steps/ only inside functions: the wizard's first screen must not wait
for boto3 or asyncssh (start-up time).
"""

from __future__ import annotations

import argparse
import enum
import sys
from pathlib import Path


class ExitCode(enum.IntEnum):
    """The documented exit codes (README's command reference)."""

    OK = 0
    FAILED = 1
    BAD_INPUT = 2
    INTERRUPTED = 130


class CommandError(Exception):
    """A failure the user can act on: printed as ``vpc-mirror: MESSAGE`` and exits with ``code``."""

    def __init__(self, message: str, code: ExitCode = ExitCode.FAILED):
        super().__init__(message)
        self.code = code


def add_global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Global options, accepted before or after the subcommand (``suppress`` on a subcommand's parser)."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--profile", default=default, help="AWS profile (default: the credential chain)")
    parser.add_argument("--region", default=default, help="AWS region (default: the answers' account.region)")
    parser.add_argument("--endpoint-url", default=default,
                        help="EC2/STS/SSM endpoint, e.g. the sandbox's (env VPC_MIRROR_ENDPOINT_URL)")
    parser.add_argument("--state-dir", default=default, type=Path,
                        help="where setups are saved (env VPC_MIRROR_STATE_DIR; default: the user state dir)")


def add_command(sub, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand's parser with the global options."""
    parser = sub.add_parser(name, help=help, description=help)
    add_global_options(parser, suppress=True)
    return parser


def add_ssh_options(parser: argparse.ArgumentParser) -> None:
    """A sensor by saved setup NAME or by --host, and how to log in to it."""
    parser.add_argument("--host", help="the sensor's address (instead of NAME)")
    parser.add_argument("--port", type=int, help="SSH port (default: ~/.ssh/config or 22)")
    parser.add_argument("--user", help="login user (default: the image's, e.g. ubuntu)")
    parser.add_argument("--identity", type=Path, help="private key file (default: ~/.ssh/config and the agent)")
    parser.add_argument("--known-hosts", type=Path, help="known_hosts file (default: STATE_DIR/known_hosts)")
    parser.add_argument("--accept-host-key", metavar="SHA256:...",
                        help="trust this host key fingerprint on first contact")


def add_sensor_command(sub, name: str, help: str, *, name_help: str, interface_help: str | None = None,
                       mac_help: str | None = None) -> argparse.ArgumentParser:
    """A subcommand that works on a sensor: a saved setup NAME or --host and its SSH options, and
    (with the two helps) the capture interface by name or by MAC."""
    parser = add_command(sub, name, help)
    parser.add_argument("name", nargs="?", help=name_help)
    add_ssh_options(parser)
    if interface_help and mac_help:
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--interface", help=interface_help)
        which.add_argument("--mac", help=mac_help)
    return parser


def say(line: str) -> None:
    """One line of a command's output, flushed (progress shows as it happens)."""
    print(line, flush=True)


def confirm(args: argparse.Namespace, question: str) -> bool:
    """Yes with --yes; otherwise ask on the terminal, and refuse to guess without one."""
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise CommandError("standard input is not a terminal; pass --yes to go ahead without a prompt",
                           ExitCode.BAD_INPUT)
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def store(args: argparse.Namespace):
    """The state directory's StateStore."""
    from vpc_mirror.steps.state_store import StateStore

    return StateStore(args.state_dir)


def no_setup(args: argparse.Namespace, name: str) -> CommandError:
    return CommandError(f"no saved setup named {name!r} in {args.state_dir}", ExitCode.BAD_INPUT)


#: An answers file is a few kilobytes; anything past this is the wrong file (or /dev/zero), refused unread.
MAX_ANSWERS_BYTES = 1 << 20


def read_answers(path: Path, setup: str | None = None):
    """An answers file as a Plan; every invalid field listed in one CommandError."""
    from vpc_mirror.models.answers import AnswersError, parse_answers

    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_ANSWERS_BYTES + 1)
    except OSError as exc:
        raise CommandError(f"cannot read the answers file {path}: {exc.strerror}", ExitCode.BAD_INPUT) from None
    if len(data) > MAX_ANSWERS_BYTES:
        raise CommandError(f"{path} is larger than {MAX_ANSWERS_BYTES // 1024} KiB, so it is not an answers file "
                           "(a whole setup is a few KiB); `vpc-mirror schema` shows what one holds",
                           ExitCode.BAD_INPUT)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CommandError(f"{path} is not UTF-8 text (line {line}, byte {exc.start}: {data[exc.start]:#04x}); "
                           "save it as UTF-8", ExitCode.BAD_INPUT) from None
    try:
        return parse_answers(text, setup=setup)
    except AnswersError as exc:
        lines = "\n".join(f"  {p}" for p in exc.problems)
        raise CommandError(f"{path} has {len(exc.problems)} invalid field(s):\n{lines}",
                           ExitCode.BAD_INPUT) from None
