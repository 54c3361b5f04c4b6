"""The loss account from what the remote capture prints: exact lines of tcpdump 4.99 and of remote.COUNTED."""

from __future__ import annotations

from vpc_mirror.steps.capture.loss import UNKNOWN, Readings, account, describe, severity

#: a capture that fell behind: 1,000 packets of the sensor's own traffic, 30,000 the kernel dropped
RUN = """\
tcpdump: listening on ens6, link-type EN10MB (Ethernet), snapshot length 262144 bytes
vpc-mirror-counters start 1000 5 0 0 0
vpc-mirror-counters tick 101000 5 0 0 0
tcpdump: 60000 packets captured, 99000 packets received by filter, 30000 packets dropped by kernel
68000 packets captured
99000 packets received by filter
30000 packets dropped by kernel
vpc-mirror-counters end 101007 7 0 0 0
"""


def readings(text: str) -> Readings:
    got = Readings()
    for line in text.splitlines():
        got.add(line)
    return got


def test_the_final_account_adds_up_to_what_reached_the_interface():
    loss = account(readings(RUN), captured=68000, over=True)
    assert loss.as_json() == {"interface_rx": 100009, "captured": 68000, "filtered_out": 1007,
                              "kernel_dropped": 30000, "interface_dropped": 2, "unaccounted": 1000}
    assert sum(v for k, v in loss.as_json().items() if k != "interface_rx") == loss.interface_rx
    assert severity(loss) == "error"
    assert describe(loss) == ("100,009 packets reached the interface: 68,000 counted here, 1,007 filtered out, "
                              "30,000 dropped by the kernel, 2 by the interface, 1,000 unaccounted (31.31% lost)")


def test_while_running_it_uses_the_last_second_and_leaves_unaccounted_open():
    live = RUN.split("68000 packets captured")[0]
    loss = account(readings(live), captured=59000, over=False)
    assert (loss.interface_rx, loss.kernel_dropped, loss.unaccounted) == (100000, 30000, None)
    assert "so far" in describe(loss) and "unaccounted" not in describe(loss)


def test_tcpdump_killed_before_its_last_statistics_is_unknown_not_the_last_seconds():
    killed = RUN.replace("68000 packets captured\n99000 packets received by filter\n30000 packets dropped by kernel\n",
                         "")
    loss = account(readings(killed), captured=68000, over=True)
    assert loss.kernel_dropped == loss.unaccounted == loss.filtered_out == UNKNOWN
    assert loss.interface_rx == 100009 and loss.unknown == ["kernel_dropped", "unaccounted"]
    assert severity(loss) == "warning"


def test_a_sensor_without_sys_counters_says_unknown():
    no_sys = RUN.replace(" 1000 5 0 0 0", " - - - - -").replace(" 101000 5 0 0 0", " - - - - -") \
                .replace(" 101007 7 0 0 0", " - - - - -")
    loss = account(readings(no_sys), captured=68000, over=True)
    assert loss.interface_rx == loss.interface_dropped == loss.filtered_out == UNKNOWN
    assert (loss.kernel_dropped, loss.unaccounted) == (30000, 1000)


def test_a_capture_cut_off_before_tcpdump_ended_knows_only_its_own_count():
    cut = RUN.split("68000 packets captured")[0]
    loss = account(readings(cut), captured=59000, over=True)
    assert loss.as_json() == {"interface_rx": UNKNOWN, "captured": 59000, "filtered_out": UNKNOWN,
                              "kernel_dropped": UNKNOWN, "interface_dropped": UNKNOWN, "unaccounted": UNKNOWN}


def test_nothing_lost_is_ok():
    clean = RUN.replace("30000 packets dropped", "0 packets dropped").replace("68000 packets captured",
                                                                             "99000 packets captured")
    clean = clean.replace("end 101007 7", "end 101007 5")
    loss = account(readings(clean), captured=99000, over=True)
    assert loss.lost == 0 and severity(loss) == "ok"


def test_status_lines_are_not_taken_for_loss():
    got = Readings()
    assert not got.add("tcpdump: listening on ens6, link-type EN10MB (Ethernet), snapshot length 262144 bytes")
    assert not got.add("tcpdump: ens7: No such device exists")
