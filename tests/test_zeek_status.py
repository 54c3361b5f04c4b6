"""``zeekctl status`` parsing: the real cluster baseline, standalone, stopped and crashed forms."""

from __future__ import annotations

from pathlib import Path

from vpc_mirror.steps.zeek_status import parse_status

from tests.testdata import ZEEKCTL


def test_real_cluster_baseline_all_running():
    status = parse_status((ZEEKCTL / "status-running.out").read_text(), 0)
    assert [(n.name, n.type, n.status) for n in status.nodes] == [
        ("manager", "manager", "running"), ("proxy-1", "proxy", "running"),
        ("worker-1", "worker", "running"), ("worker-2", "worker", "running")]
    assert status.running and status.summary() == "4 node(s): 4 running"


def test_standalone_running_with_pid_and_start_time():
    text = ("Name         Type       Host          Status    Pid    Started\n"
            "zeek         standalone localhost     running   4242   28 Nov 13:46:54\n")
    (node,) = parse_status(text, 0).nodes
    assert (node.type, node.pid, node.started) == ("standalone", 4242, "28 Nov 13:46:54")


def test_crashed_and_stopped_nodes_have_no_pid_and_mean_not_running():
    text = ("Warning: ZeekControl installation is outdated\n"
            "Name         Type    Host             Status    Pid    Started\n"
            "manager      manager localhost        running   100    28 Nov 13:46:54\n"
            "worker-1     worker  localhost        crashed\n"
            "a-very-long-node-name worker localhost stopped\n")
    status = parse_status(text, 1)
    assert [(n.name, n.status, n.pid, n.started) for n in status.nodes] == [
        ("manager", "running", 100, "28 Nov 13:46:54"), ("worker-1", "crashed", None, None),
        ("a-very-long-node-name", "stopped", None, None)]
    assert not status.running
    assert status.summary() == "3 node(s): 1 running, 1 crashed, 1 stopped"


def test_exit_code_alone_marks_failure():
    text = "Name Type Host Status Pid Started\nzeek standalone localhost running 1 28 Nov 13:46:54\n"
    assert parse_status(text, 0).running and not parse_status(text, 1).running


def test_no_header_no_nodes():
    status = parse_status("Error: cannot read node.cfg\n", 1)
    assert status.nodes == [] and not status.running and "no nodes" in status.summary()
