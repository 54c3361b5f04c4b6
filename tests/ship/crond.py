"""How cron reads a cron.d file, for checking what `vpc-mirror ship` installs (tests only)."""

from __future__ import annotations


def cron_job(cron_text: str) -> tuple[dict[str, str], str, str]:
    """(environment, user, command) of the first job of a system crontab (cron.d) file, as cron reads it."""
    env: dict[str, str] = {}
    for line in cron_text.splitlines():
        fields = line.split(None, 6)
        if not fields or line.lstrip().startswith("#"):
            continue
        if "=" in fields[0]:
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
        elif len(fields) == 7:
            return env, fields[5], fields[6]
    raise ValueError("no job line in this cron.d file")
