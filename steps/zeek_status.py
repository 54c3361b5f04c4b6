"""Parse ``zeekctl status`` into :class:`models.zeek.ZeekStatus`.

The columns are padded (``{name:<12} {type:<7} {host:<16} {status:<9} {pid:<6}
{started}``, wider for standalone) but a long name overflows its column, and
stopped or crashed nodes have no pid or start time, so rows are split on
whitespace, not on fixed positions.
"""

from __future__ import annotations

from vpc_mirror.models.zeek import ZeekNode, ZeekStatus

_HEADER = ["Name", "Type", "Host", "Status", "Pid", "Started"]


def parse_status(text: str, exit_code: int) -> ZeekStatus:
    nodes: list[ZeekNode] = []
    seen_header = False
    for line in text.splitlines():
        fields = line.split()
        if fields[:6] == _HEADER:
            seen_header = True
            continue
        if not seen_header or len(fields) < 4:
            continue
        name, type_, host, status, *rest = fields
        pid = int(rest[0]) if rest and rest[0].isdigit() else None
        started = " ".join(rest[1:]) or None
        nodes.append(ZeekNode(name=name, type=type_, host=host, status=status, pid=pid, started=started))
    return ZeekStatus(nodes=nodes, exit_code=exit_code, output=text)
