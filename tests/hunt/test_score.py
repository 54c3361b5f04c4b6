"""RITA v5's beacon arithmetic: its own unit-test vectors (activecm/rita analysis/beacons_test.go) and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vpc_mirror.steps.hunt import score
from vpc_mirror.steps.hunt.score import BeaconConfig, NotScorable, Severity

# the bimodal minimum RITA's histogram tests pass (the production default is 11)
HISTOGRAM_TEST_CONFIG = BeaconConfig(histogram_bimodal_min_hours_seen=6)


@pytest.mark.parametrize("timestamps, expected", [
    ([1517338924, 1517339022, 1517339121, 1517339220, 1517339320, 1517339420, 1517339520, 1517339621, 1517339722,
      1517339824], 0.995),
    ([1517338924, 1517339022, 1517339322, 1517339420, 1517339720, 1517339818, 1517340118, 1517340216, 1517340516,
      1517340614, 1517340914], 0.746),
    ([1517338924, 1517338925, 1517339224, 1517339249, 1517344224, 1517344314, 1517344316, 1517344358, 1517344858,
      1517346358], 0.083),
])
def test_timestamp_scores_are_ritas(timestamps, expected):
    assert score.timestamp_score(timestamps) == expected


@pytest.mark.parametrize("start, end, timestamps, bins, expected", [
    (98, 102, [98, 99, 99, 100, 100, 100, 101, 101, 102], 8, 0.064),
    (1, 11, [n for n in range(1, 11) for _ in range(n)], 10, 0.478),
    # more of RITA's cases: a two-level histogram, random gaps (CV > 1), a wrapped run with gaps
    (0, 100, [1, 2, 3, 4, 15, 21, 22, 23, 24, 35, 41, 42, 43, 44, 55, 61, 62, 63, 64, 75, 81, 82, 83, 84, 95], 10, 1.0),
    (0, 1000000, [524885, 1, 5000, 98654, 50, 41, 965842, 3, 12001, 200400, 104001, 199999], 10, 0.0),
    (0, 250, [10, 20, 100, 110, 110, 220], 5, 0.028),
])
def test_histogram_scores_are_ritas(start, end, timestamps, bins, expected):
    hist = score.histogram(start, end, timestamps, bins, HISTOGRAM_TEST_CONFIG.histogram_mode_sensitivity)
    assert score.histogram_score(hist, HISTOGRAM_TEST_CONFIG) == expected


def test_histogram_bars_runs_and_frequencies_are_ritas():
    hist = score.histogram(98, 102, [98, 99, 99, 100, 100, 100, 101, 101, 102], 8, 0.05)
    assert hist.bars == (1, 0, 2, 0, 3, 0, 2, 1)
    assert hist.frequencies == {1: 2, 2: 2, 3: 1}
    assert (hist.total_bars, hist.longest_run) == (5, 3)
    wrapped = score.histogram(0, 250, [10, 20, 100, 110, 110, 220], 5, 0.05)
    assert wrapped.bars == (2, 0, 3, 0, 1) and wrapped.longest_run == 2


@pytest.mark.parametrize("sizes, expected", [
    ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.773),
    ([60] * 9, 1.0),
    ([98, 99, 99, 100, 100, 100, 101, 101, 102], 0.995),
])
def test_datasize_scores_are_ritas(sizes, expected):
    assert score.datasize_score(sizes) == expected


def test_quartiles_leave_the_median_out_of_both_halves_for_odd_counts():
    assert score.quartiles([1, 2, 3, 4, 5, 6, 7]) == (2, 4, 6)
    assert score.quartiles([1, 2, 3, 4, 5, 6, 7, 8]) == (2.5, 4.5, 6.5)


def test_mad_defaults_below_a_median_of_one():
    assert score.mad_score([0, 0, 0, 1], 1.0) == 1.0
    assert score.mad_score([0, 0, 0, 1], 0.0) == 0.0
    assert score.mad_score([10, 10, 100, 100], 0.0) == pytest.approx((55 - 45) / 55)


def test_rounding_is_half_away_from_zero_like_go():
    assert score.round3(0.0625) == 0.063  # Python's round() would give 0.062
    assert score.round3(-0.0625) == -0.063
    assert score.ceil3(0.1001) == 0.101


def test_duration_needs_six_bins_then_takes_coverage_or_consistency():
    few = score.histogram(0, 86400, [0, 3600, 7200, 10800, 14400], 24, 0.05)
    assert score.duration_score(0, 86400, 0, 14400, few, BeaconConfig()) == 0.0
    half = score.histogram(0, 86400, [h * 3600 for h in range(12, 24)], 24, 0.05)
    # covers 11/24 of the window, but runs 12 bins: consistency 12/12
    assert score.duration_score(0, 86400, 12 * 3600, 23 * 3600, half, BeaconConfig()) == 1.0


def test_too_few_timestamps_or_intervals_are_not_scorable():
    with pytest.raises(NotScorable):
        score.timestamp_score([1, 2, 3])
    with pytest.raises(NotScorable):
        score.timestamp_score([1, 1, 2, 2, 3, 3])  # 2 non-zero intervals


@pytest.mark.parametrize("value, band", [(0.499, Severity.NONE), (0.5, Severity.LOW), (0.699, Severity.LOW),
                                         (0.7, Severity.MEDIUM), (0.899, Severity.MEDIUM), (0.9, Severity.HIGH),
                                         (1.0, Severity.HIGH)])
def test_severity_bands_are_ritas_defaults(value, band):
    assert score.severity(value, BeaconConfig()) == band


timestamps = st.lists(st.integers(1_600_000_000, 1_600_086_400), min_size=4, max_size=200)
sizes = st.integers(0, 100_000)


@settings(max_examples=300, deadline=None)
@given(timestamps, st.data())
def test_every_score_is_between_zero_and_one(ts, data):
    sz = data.draw(st.lists(sizes, min_size=len(ts), max_size=len(ts)))
    start = min(ts)
    end = max(ts) + data.draw(st.integers(0, 86400))
    try:
        result = score.beacon_score(ts, sz, start, end)
    except NotScorable:
        return
    for value in (result.score, result.timestamp, result.datasize, result.histogram, result.duration):
        assert 0.0 <= value <= 1.0


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 7200), st.integers(4, 500), st.integers(1, 65535), st.integers(1_500_000_000, 1_700_000_000))
def test_a_perfectly_periodic_constant_size_pair_scores_one_for_timestamps_and_sizes(period, count, size, start):
    ts = [start + i * period for i in range(count)]
    result = score.beacon_score(ts, [size] * count, ts[0], ts[-1])
    assert result.timestamp == 1.0 and result.datasize == 1.0


@settings(max_examples=200, deadline=None)
@given(timestamps, st.data())
def test_order_does_not_change_a_score(ts, data):
    sz = data.draw(st.lists(sizes, min_size=len(ts), max_size=len(ts)))
    rows = list(zip(ts, sz))
    shuffled = data.draw(st.permutations(rows))
    start, end = min(ts), max(ts) + 60

    def scored(pairs):
        try:
            return score.beacon_score([t for t, _ in pairs], [s for _, s in pairs], start, end)
        except NotScorable:
            return None

    assert scored(rows) == scored(shuffled)
