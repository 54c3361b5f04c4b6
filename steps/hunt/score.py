"""Beacon scores as RITA v5 computes them: numbers in, scores out, no I/O.

Follows activecm/rita ``analysis/beacons.go`` (v5) function by function, so a
pair we call a beacon is one AI-Hunter/RITA will call a beacon too; each
function's docstring names the Go function it follows. Quartiles, medians and
the median absolute deviation follow montanaflynn/stats (``Quartile``,
``Median``, ``MedianAbsoluteDeviationPopulation``), which RITA uses. The
defaults are RITA's ``default_config.hjson`` (``scoring.beacon``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import pairwise


class NotScorable(ValueError):
    """RITA refuses these inputs (and skips the pair): too few timestamps or intervals, an empty window."""


class Severity(str, Enum):
    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True)
class BeaconConfig:
    """RITA's ``scoring.beacon`` defaults (default_config.hjson); thresholds in percent, as there."""

    unique_connection_threshold: int = 4
    #: 1 connection per second over a day: RITA calls such a pair a strobe, not a beacon
    strobe_connections: int = 86400
    timestamp_weight: float = 0.25
    datasize_weight: float = 0.25
    duration_weight: float = 0.25
    histogram_weight: float = 0.25
    duration_min_hours_seen: int = 6
    duration_consistency_ideal_hours_seen: int = 12
    histogram_mode_sensitivity: float = 0.05
    histogram_bimodal_outlier_removal: int = 1
    histogram_bimodal_min_hours_seen: int = 11
    #: RITA always cuts its 24-hour beacon window into 24 bars
    histogram_bins: int = 24
    threshold_base: float = 50
    threshold_low: float = 70
    threshold_medium: float = 90


RITA_DEFAULTS = BeaconConfig()


@dataclass(frozen=True)
class Histogram:
    """Connections per bin over the window, and what RITA derives from it (``createHistogram``)."""

    bars: tuple[int, ...]
    #: bar height (floored to the bimodal bin size) -> how many bars have it
    frequencies: dict[int, int]
    total_bars: int
    longest_run: int


@dataclass(frozen=True)
class BeaconScore:
    score: float
    timestamp: float
    datasize: float
    histogram: float
    duration: float
    severity: Severity


def round3(value: float) -> float:
    """Go's ``math.Round(x*1000)/1000``: half away from zero (Python's round() goes to even)."""
    scaled = value * 1000
    whole = math.trunc(scaled)
    if abs(scaled - whole) >= 0.5:
        whole += 1 if scaled > 0 else -1
    return whole / 1000


def ceil3(value: float) -> float:
    """``math.Ceil(x*1000)/1000``, as getDurationScore rounds."""
    return math.ceil(value * 1000) / 1000


def median(values: Sequence[float]) -> float:
    """montanaflynn/stats ``Median``: the middle value, or the mean of the two middle ones."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return math.nan
    if n % 2:
        return float(ordered[n // 2])
    return (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """montanaflynn/stats ``Quartile``: medians of the lower and upper halves; for an odd count the
    median itself is left out of both halves."""
    ordered = sorted(values)
    n = len(ordered)
    low_end, high_start = (n // 2, n // 2) if n % 2 == 0 else ((n - 1) // 2, (n - 1) // 2 + 1)
    return median(ordered[:low_end]), median(ordered), median(ordered[high_start:])


def median_absolute_deviation(values: Sequence[float]) -> float:
    """montanaflynn/stats ``MedianAbsoluteDeviationPopulation``."""
    centre = median(values)
    return median([abs(v - centre) for v in values])


def bowley_skew_score(values: Sequence[float]) -> float:
    """``calculateBowleySkewness``: 1 - |skew|; skew is taken as 0 when the quartiles are less than
    10 apart or the median equals a quartile (jitter, not shape)."""
    if len(values) < 3:
        raise NotScorable("fewer than 3 values for the Bowley skewness")
    q1, q2, q3 = quartiles(values)
    spread = q3 - q1
    skew = (q1 + q3 - 2 * q2) / spread if spread >= 10 and q2 != q1 and q2 != q3 else 0.0
    return 1.0 - abs(skew)


def mad_score(values: Sequence[float], default: float) -> float:
    """``calculateMedianAbsoluteDeviation``: (median - MAD) / median, floored at 0; ``default`` when
    the median is below 1 (1 for timestamps, 0 for sizes in RITA)."""
    if not values:
        raise NotScorable("no values for the median absolute deviation")
    centre = median(values)
    score = (centre - median_absolute_deviation(values)) / centre if centre >= 1 else default
    return 0.0 if score < 0 or math.isnan(score) else score


def statistical_score(values: Sequence[float], default_mad: float) -> float:
    """``calculateStatisticalScore``: the mean of the skew and MAD scores, to 3 decimals."""
    return round3((bowley_skew_score(values) + mad_score(values, default_mad)) / 2.0)


def timestamp_score(timestamps: Sequence[int]) -> float:
    """``getTimestampScore``: how regular the gaps between connections are. Scored on the non-zero
    gaps (connections in the same second count once); at least 4 timestamps and 3 non-zero gaps."""
    if len(timestamps) < 4:
        raise NotScorable("fewer than 4 timestamps")
    ordered = sorted(timestamps)
    gaps = [b - a for a, b in pairwise(ordered) if b - a > 0]
    if len(gaps) < 3:
        raise NotScorable("fewer than 3 non-zero intervals")
    return statistical_score(gaps, 1.0)


def datasize_score(sizes: Sequence[int]) -> float:
    """``getDataSizeScore``: how constant the bytes sent per connection are (RITA: ``orig_ip_bytes``)."""
    if len(sizes) < 3:
        raise NotScorable("fewer than 3 sizes")
    return statistical_score(sizes, 0.0)


def bin_edges(start: int, end: int, bins: int) -> list[float]:
    """``computeHistogramBins``: ``bins`` equal bins from ``start`` to ``end``, both ends exact."""
    if bins <= 0:
        raise NotScorable("the histogram needs at least one bin")
    if end <= start:
        raise NotScorable("the window is empty")
    step = (end - start) / bins
    return [float(start)] + [start + i * step for i in range(1, bins)] + [float(end)]


def histogram(start: int, end: int, timestamps: Sequence[int], bins: int, mode_sensitivity: float) -> Histogram:
    """``createHistogram`` + ``getFrequencyCounts``: connections per bin (a timestamp before the first
    edge lands in the first bin, one at or after the last edge in the last), bar heights grouped in
    steps of ceil(tallest * sensitivity), and the longest run of non-empty bins, wrapping around."""
    if not timestamps:
        raise NotScorable("no timestamps")
    edges = bin_edges(start, end, bins)
    bars = [0] * bins
    current = 0
    for ts in sorted(timestamps):
        while current < bins - 1 and ts >= edges[current + 1]:
            current += 1
        bars[current] += 1
    tallest = max(bars)
    step = math.ceil(tallest * mode_sensitivity)
    frequencies: dict[int, int] = {}
    for bar in bars:
        if bar > 0:
            height = int(math.floor(bar / step) * step)
            frequencies[height] = frequencies.get(height, 0) + 1
    longest = run = 0
    for bar in bars + bars:  # twice round: a run may wrap from the last bin to the first
        if bar > 0:
            run += 1
        else:
            longest, run = max(longest, run), 0
    longest = min(max(longest, run), bins)
    return Histogram(tuple(bars), frequencies, sum(1 for bar in bars if bar > 0), longest)


def coefficient_of_variation_score(bars: Sequence[int]) -> float:
    """``calculateCoefficientOfVariationScore``: 1 - stddev/mean of the bars (0 when that exceeds 1)."""
    total = sum(bars)
    if not bars or total <= 0:
        raise NotScorable("an empty histogram")
    mean = total / len(bars)
    sd = math.sqrt(sum((bar - mean) ** 2 for bar in bars) / len(bars))
    cv = sd / abs(mean)
    return 0.0 if cv > 1.0 else min(round3(1.0 - cv), 1.0)


def bimodal_fit_score(hist: Histogram, outlier_removal: int, min_bars: int) -> float:
    """``calculateBimodalFitScore``: the share of bars in the two commonest heights, less
    ``outlier_removal`` bars of slack; only with at least ``min_bars`` bars (below 6, RITA uses 11)."""
    if not hist.frequencies or hist.total_bars <= 0:
        raise NotScorable("an empty histogram")
    if min_bars < 6:
        min_bars = 11
    if hist.total_bars < min_bars:
        return 0.0
    top = sorted(hist.frequencies.values(), reverse=True)[:2]
    fit = sum(top) / max(hist.total_bars - outlier_removal, 1)
    return min(round3(fit), 1.0)


def histogram_score(hist: Histogram, config: BeaconConfig) -> float:
    """``getHistogramScore``: the better of a flat histogram and a two-level one."""
    return max(coefficient_of_variation_score(hist.bars),
               bimodal_fit_score(hist, config.histogram_bimodal_outlier_removal,
                                 config.histogram_bimodal_min_hours_seen))


def duration_score(start: int, end: int, first: int, last: int, hist: Histogram, config: BeaconConfig) -> float:
    """``getDurationScore``: with enough non-empty bins, the larger of how much of the window the pair
    spans and its longest run of bins against the ideal (12)."""
    if end <= start or last <= first:
        raise NotScorable("an empty window or a single timestamp")
    if hist.total_bars < config.duration_min_hours_seen:
        return 0.0
    coverage = min(ceil3((last - first) / (end - start)), 1.0)
    consistency = min(ceil3(hist.longest_run / config.duration_consistency_ideal_hours_seen), 1.0)
    return max(coverage, consistency)


def severity(score: float, config: BeaconConfig) -> Severity:
    """The band ``calculateBucketedScore`` puts score*100 in, with RITA's default thresholds."""
    value = score * 100
    if value < config.threshold_base:
        return Severity.NONE
    if value < config.threshold_low:
        return Severity.LOW
    if value < config.threshold_medium:
        return Severity.MEDIUM
    return Severity.HIGH


def beacon_score(timestamps: Sequence[int], sizes: Sequence[int], start: int, end: int,
                 config: BeaconConfig = RITA_DEFAULTS) -> BeaconScore:
    """``analyzeBeacon`` + ``getBeaconScore``: the four subscores of one pair over the window
    [start, end] and their weighted sum, to 3 decimals. NotScorable when RITA would skip the pair."""
    ordered = sorted(timestamps)
    ts = timestamp_score(ordered)
    ds = datasize_score(sizes)
    hist = histogram(start, end, ordered, config.histogram_bins, config.histogram_mode_sensitivity)
    hs = histogram_score(hist, config)
    dur = duration_score(start, end, ordered[0], ordered[-1], hist, config)
    total = round3(ts * config.timestamp_weight + ds * config.datasize_weight
                   + dur * config.duration_weight + hs * config.histogram_weight)
    return BeaconScore(total, ts, ds, hs, dur, severity(total, config))
