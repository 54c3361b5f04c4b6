"""Which pairs RITA would score, over which window, and what they score: records in, results out."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from vpc_mirror.steps.hunt.pairs import Networks, Strobe, find_beacons
from vpc_mirror.steps.hunt.records import ConnRecord, NameRecord

DAY = 86400
T0 = 1_800_000_000  # 2027-01-15T08:00:00Z, on the hour
SOURCE, SENSOR, SERVER = "10.0.1.5", "10.0.1.20", "93.184.216.34"
VPC6 = "2600:1f18:abcd:1200::/56"
SOURCE6, SERVER6 = "2600:1f18:abcd:1200::10", "2606:2800:220:1:248:1893:25c8:1946"


class Rows:
    """Connections with fresh uids."""

    def __init__(self, seed: int = 1):
        self.rng = random.Random(seed)
        self.conns: list[ConnRecord] = []
        self.names: list[NameRecord] = []

    def add(self, src, dst, times, sizes=None, sni=None, http_host=None) -> list[str]:
        uids = []
        for i, ts in enumerate(times):
            uid = f"C{len(self.conns):017d}"
            size = sizes[i] if sizes is not None else 360
            self.conns.append(ConnRecord(ts + self.rng.random() * 0.9, uid, src, dst, size))
            if sni is not None:
                self.names.append(NameRecord("ssl", ts + 0.01, uid, sni))
            if http_host is not None:
                self.names.append(NameRecord("http", ts + 0.02, uid, http_host))
            uids.append(uid)
        return uids

    def poisson(self, src, dst, mean_gap, start, end):
        times, sizes, t = [], [], float(start)
        while (t := t + self.rng.expovariate(1 / mean_gap)) <= end:
            times.append(int(t))
            sizes.append(int(self.rng.lognormvariate(7, 1)))
        self.add(src, dst, times, sizes)

    def hunt(self, networks=None, window=DAY):
        return find_beacons(self.conns, self.names, networks or Networks.with_defaults(), window)


def every(seconds, start, end):
    return list(range(start, end + 1, seconds))


def pair(result, src, dst):
    return next((p for p in result.pairs if (p.src, p.dst) == (src, dst)), None)


def test_the_test_beacon_every_34_s_for_15_minutes_scores_at_least_0_99():
    rows = Rows()
    rows.add(SOURCE, SERVER, every(34, T0, T0 + 900))
    rows.poisson("10.0.1.6", "198.51.100.9", 34, T0, T0 + 900)  # a busy, irregular neighbour in the same logs
    result = rows.hunt()
    beacon = pair(result, SOURCE, SERVER)
    assert beacon.score.score >= 0.99 and beacon.score.severity.value == "high"
    assert beacon.connections == len(every(34, T0, T0 + 900))
    assert (result.window.start, result.window.end) == (T0, T0 + 900 - 900 % 34)


def test_a_poisson_pair_scores_below_half():
    """A host talking at random (Poisson arrivals, web-like sizes) for an hour of a day in which the
    beacon runs throughout. (Over a whole day RITA's duration and histogram scores are high for any
    steady traffic, random or not: such a pair scores about 0.7 in RITA too.)"""
    for seed in range(20):
        rows = Rows(seed)
        rows.add(SOURCE, SERVER, every(34, T0, T0 + DAY))
        rows.poisson("10.0.1.6", "198.51.100.9", 60, T0 + 10 * 3600, T0 + 11 * 3600)
        result = rows.hunt()
        assert pair(result, "10.0.1.6", "198.51.100.9").score.score < 0.5
        assert pair(result, SOURCE, SERVER).score.score >= 0.99


def test_the_vxlan_outer_pair_and_external_to_internal_pairs_are_never_candidates():
    rows = Rows()
    ticks = every(34, T0, T0 + 3600)
    rows.add(SOURCE, SENSOR, ticks, sizes=[410] * len(ticks))  # VXLAN: source -> sensor, UDP 4789
    rows.add(SENSOR, SOURCE, ticks)
    rows.add(SERVER, SOURCE, ticks)  # external -> internal
    rows.add(SOURCE, SERVER, ticks)
    for networks in (Networks.with_defaults(), Networks.with_defaults(["10.0.0.0/16", VPC6])):
        result = rows.hunt(networks)
        assert [(p.src, p.dst) for p in result.pairs] == [(SOURCE, SERVER)]


def test_a_vpc_outside_ritas_defaults_keeps_its_vxlan_out_either_way():
    source, sensor = "198.18.0.5", "198.18.0.20"  # a VPC in a non-RFC 1918 range
    rows = Rows()
    ticks = every(34, T0, T0 + 3600)
    rows.add(source, sensor, ticks)
    rows.add(source, SERVER, ticks)
    assert rows.hunt().pairs == []  # external -> external without the VPC range
    with_vpc = rows.hunt(Networks.with_defaults(["198.18.0.0/16"]))
    assert [(p.src, p.dst) for p in with_vpc.pairs] == [(source, SERVER)]


def test_the_ipv6_beacon_counts_only_with_the_vpcs_56_internal():
    rows = Rows()
    rows.add(SOURCE6, SERVER6, every(34, T0, T0 + 900))
    assert rows.hunt().pairs == []
    result = rows.hunt(Networks.with_defaults([VPC6]))
    assert pair(result, SOURCE6, SERVER6).score.score >= 0.99


def test_never_included_addresses_are_left_out():
    rows = Rows()
    ticks = every(60, T0, T0 + 3600)
    for dst in ("224.0.0.251", "169.254.169.254", "255.255.255.255", "ff02::fb"):
        rows.add(SOURCE if ":" not in dst else "fd00::5", dst, ticks)
    assert rows.hunt().pairs == []


def test_a_domain_pair_takes_its_connections_from_the_ip_pair():
    rows = Rows()
    ticks = every(60, T0, T0 + 3600)
    rows.add(SOURCE, SERVER, ticks, sni="c2.example.net")
    result = rows.hunt()
    assert [(p.kind, p.src, p.dst) for p in result.pairs] == [("domain", SOURCE, "c2.example.net")]
    assert result.pairs[0].connections == len(ticks)


def test_an_ip_pair_sharing_a_connection_with_a_domain_beacon_is_left_out_as_rita_does():
    """uconns.sql ``filtered_hashes``: the IP pair goes when any of its uids is in a qualifying domain pair."""
    rows = Rows()
    rows.add(SOURCE, SERVER, every(60, T0, T0 + 3600), sni="c2.example.net")
    rows.add(SOURCE, SERVER, every(300, T0 + 30, T0 + 3600))  # plain TCP to the same address, no SNI
    assert [p.kind for p in rows.hunt().pairs] == ["domain"]


def test_a_domain_pair_below_the_gate_leaves_the_ip_pair_alone():
    rows = Rows()
    rows.add(SOURCE, SERVER, [T0, T0 + 60, T0 + 120], sni="rare.example.net")  # 3 seconds: no domain pair
    rows.add(SOURCE, SERVER, every(60, T0 + 180, T0 + 3600))
    result = rows.hunt()
    assert [(p.kind, p.dst) for p in result.pairs] == [("ip", SERVER)]
    assert result.pairs[0].connections == 3 + len(every(60, T0 + 180, T0 + 3600))


def test_http_links_a_connection_to_its_latest_request():
    rows = Rows()
    uids = rows.add(SOURCE, SERVER, every(60, T0, T0 + 3600))
    for i, uid in enumerate(uids):
        rows.names += [NameRecord("http", T0 + i * 60 + 0.1, uid, "first.example"),
                       NameRecord("http", T0 + i * 60 + 0.5, uid, "second.example")]
    assert [p.dst for p in rows.hunt().pairs] == ["second.example"]


def test_gate_four_distinct_seconds_and_fewer_than_86400_connections():
    rows = Rows()
    rows.add(SOURCE, SERVER, [T0, T0, T0 + 60, T0 + 60, T0 + 120, T0 + 120])  # 3 distinct seconds
    assert rows.hunt().pairs == []
    rows.add(SOURCE, SERVER, [T0 + 180])
    assert len(rows.hunt().pairs) == 1
    strobe = Rows()
    strobe.add(SOURCE, SERVER, every(1, T0, T0 + DAY - 1))  # 86,400 connections: a strobe, not a beacon
    result = strobe.hunt()
    assert result.pairs == []
    assert result.strobes == [Strobe("ip", SOURCE, SERVER, 86400)]  # named apart, never dropped silently
    assert rows.hunt().strobes == []


def test_the_window_ends_at_the_last_connection_and_rows_start_at_its_first_hour():
    rows = Rows()
    rows.add(SOURCE, SERVER, every(60, T0, T0 + 5 * 3600))
    result = rows.hunt(window=2 * 3600 + 1800)  # starts 2.5 h before the end: rows from the hour before
    assert (result.window.start, result.window.end) == (T0 + 5 * 3600 - 9000, T0 + 5 * 3600)
    beacon = result.pairs[0]
    assert beacon.first_seen == T0 + 2 * 3600
    assert beacon.connections == len(every(60, T0 + 2 * 3600, T0 + 5 * 3600))


rows_strategy = st.lists(st.tuples(st.integers(0, 7200), st.sampled_from([SOURCE, "10.0.1.6", SERVER]),
                                   st.sampled_from([SERVER, "198.51.100.9", SOURCE]), st.integers(0, 2000),
                                   st.sampled_from([None, "a.example", "b.example"])),
                         min_size=0, max_size=120)


@settings(max_examples=150, deadline=None)
@given(rows_strategy, st.randoms(use_true_random=False))
def test_row_order_does_not_change_the_result(rows, rng):
    conns = [ConnRecord(T0 + t + 0.5, f"C{i}", src, dst, size) for i, (t, src, dst, size, _) in enumerate(rows)]
    names = [NameRecord("ssl", T0 + t + 0.6, f"C{i}", sni) for i, (t, _, _, _, sni) in enumerate(rows) if sni]
    expected = find_beacons(conns, names, Networks.with_defaults(), DAY)
    rng.shuffle(conns)
    rng.shuffle(names)
    assert find_beacons(conns, names, Networks.with_defaults(), DAY) == expected
