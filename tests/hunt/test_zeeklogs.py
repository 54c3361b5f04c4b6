"""Reading Zeek's logs: TSV and JSON, gzip, live and archived, and every way a file can be bad."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from vpc_mirror.steps.hunt.pairs import Networks, find_beacons
from vpc_mirror.steps.hunt.records import ConnRecord, NameRecord
from vpc_mirror.steps.hunt.zeeklogs import (
    LISTED_PER_FILE,
    LogReader,
    local_files,
    read_local,
)

from tests.hunt.zeekfmt import (
    REAL_CONN_LOG,
    Conn,
    Http,
    Ssl,
    Traffic,
    json_lines,
    tsv,
    write,
)

T0 = 1_800_000_000
DAY = 86400
SOURCE, SERVER = "10.0.1.5", "93.184.216.34"


def read(*paths: Path, window: int = DAY, networks: Networks | None = None):
    files, problems = local_files(list(paths))
    assert problems == []
    return read_local(files, LogReader(networks or Networks.with_defaults(), window))


def beacon_traffic() -> Traffic:
    traffic = Traffic()
    traffic.add(SOURCE, SERVER, [T0 + 60 * i for i in range(30)], server_name="c2.example.net")
    traffic.add(SOURCE, "198.51.100.9", [T0 + 45 * i for i in range(40)], host="updates.example.org")
    return traffic


def test_tsv_and_json_give_the_same_records(tmp_path):
    traffic = beacon_traffic()
    from_tsv = read(write(tmp_path / "tsv" / "conn.log", tsv("conn", traffic.conns)),
                    write(tmp_path / "tsv" / "ssl.log", tsv("ssl", traffic.ssl)),
                    write(tmp_path / "tsv" / "http.log", tsv("http", traffic.http)))
    from_json = read(write(tmp_path / "json" / "conn.log", json_lines(traffic.conns)),
                     write(tmp_path / "json" / "ssl.log", json_lines(traffic.ssl)),
                     write(tmp_path / "json" / "http.log", json_lines(traffic.http)))
    assert from_tsv.report.complete and from_json.report.complete
    assert sorted(from_tsv.conns, key=lambda c: c.uid) == sorted(from_json.conns, key=lambda c: c.uid)
    assert len(from_tsv.conns) == 70 and from_tsv.report.records == 70 + 30 + 40
    assert from_tsv.conns[0] == ConnRecord(traffic.conns[0].ts, traffic.conns[0].uid, SOURCE, SERVER, 320)
    assert NameRecord("ssl", T0 + 0.01, traffic.ssl[0].uid, "c2.example.net") in from_json.names
    result = find_beacons(from_json.conns, from_json.names, Networks.with_defaults(), DAY)
    assert {(p.kind, p.dst) for p in result.pairs} == {("domain", "c2.example.net"),
                                                        ("domain", "updates.example.org")}


def test_iso8601_timestamps_in_json(tmp_path):
    path = tmp_path / "conn.log"
    path.write_text('{"ts":"2027-01-15T08:00:00.250000Z","uid":"CAbc","id.orig_h":"10.0.1.5","id.orig_p":1,'
                    '"id.resp_h":"93.184.216.34","id.resp_p":443,"proto":"tcp","orig_ip_bytes":60,"conn_state":"S0"}\n')
    logs = read(path)
    assert logs.conns == [ConnRecord(T0 + 0.25, "CAbc", SOURCE, SERVER, 60)]


def test_gzip_plain_and_a_live_log_without_close(tmp_path):
    traffic = beacon_traffic()
    archived = write(tmp_path / "2027-01-15" / "conn.08:00:00-09:00:00.log.gz", tsv("conn", traffic.conns[:30]))
    live = write(tmp_path / "current" / "conn.log", tsv("conn", traffic.conns[30:], close=False))
    logs = read(archived, live)
    assert logs.report.complete and len(logs.conns) == 70


def test_unset_and_empty_fields(tmp_path):
    conns = [Conn(T0, SOURCE, SERVER, uid="C1", service=None), Conn(T0 + 1, SOURCE, SERVER, uid="C2")]
    text = tsv("conn", conns).replace("\t320\t", "\t-\t")  # no orig_ip_bytes: Zeek writes '-'
    ssl = [Ssl(T0, "C1", SOURCE, SERVER, None), Ssl(T0 + 1, "C2", SOURCE, SERVER, "")]
    http = [Http(T0, "C3", SOURCE, SERVER, None)]
    logs = read(write(tmp_path / "conn.log", text),
                write(tmp_path / "ssl.log", tsv("ssl", ssl)), write(tmp_path / "http.log", tsv("http", http)))
    assert logs.report.complete
    assert [c.orig_ip_bytes for c in logs.conns] == [0, 0]
    assert sorted(n.name for n in logs.names) == ["", "", ""]  # unset ('-') and empty ('(empty)') names
    assert "(empty)" in tsv("ssl", ssl) and "\t-\t" in tsv("ssl", ssl)


def test_a_truncated_last_line_is_counted_and_named(tmp_path):
    text = tsv("conn", beacon_traffic().conns, close=False)
    path = tmp_path / "current" / "conn.log"
    write(path, text[: text.rindex("\t", 0, len(text) - 40)])  # cut mid-line, no newline: still being written
    logs = read(path)
    assert len(logs.conns) == 69 and logs.report.bad_lines == 1
    (problem,) = logs.report.problems
    assert problem.file == str(path) and problem.line == 8 + 70
    assert "incomplete last line" in problem.message


def test_the_real_zeek_conn_log_with_tunnel_parents(tmp_path):
    masked = read(REAL_CONN_LOG)  # the baseline masks its timestamps: both rows named, nothing else
    assert masked.conns == [] and masked.report.bad_lines == 2
    assert [(p.line, p.message) for p in masked.report.problems] == [
        (10, "ts 'XXXXXXXXXX.XXXXXX' is not a time"), (11, "ts 'XXXXXXXXXX.XXXXXX' is not a time")]
    unmasked = tmp_path / "conn.log"
    unmasked.write_text(REAL_CONN_LOG.read_text().replace("XXXXXXXXXX.XXXXXX", f"{T0}.123456"))
    logs = read(unmasked)
    assert logs.report.complete
    outer, inner = logs.conns
    assert (outer.orig_h, outer.resp_h, outer.orig_ip_bytes) == ("10.1.200.131", "10.1.1.172", 10539)
    assert (inner.orig_h, inner.resp_h, inner.orig_ip_bytes) == ("172.16.11.201", "54.86.237.188", 459)
    assert Networks.with_defaults().outbound(inner.orig_h, inner.resp_h)
    assert not Networks.with_defaults().outbound(outer.orig_h, outer.resp_h)  # the VXLAN itself


def test_bad_files_are_named_with_their_line_and_reading_goes_on(tmp_path):
    good = write(tmp_path / "logs" / "conn.log", tsv("conn", beacon_traffic().conns))
    binary = tmp_path / "logs" / "2027-01-14" / "conn.00:00:00-01:00:00.log"
    binary.parent.mkdir(parents=True)
    binary.write_bytes(os.urandom(64).replace(b"\n", b"") + b"\n" + b"\x00" * 10)
    not_gzip = tmp_path / "logs" / "2027-01-14" / "ssl.00:00:00-01:00:00.log.gz"
    not_gzip.write_text("#separator \\x09\n")
    cut = tmp_path / "logs" / "2027-01-14" / "http.00:00:00-01:00:00.log.gz"
    cut.write_bytes(gzip.compress(tsv("http", beacon_traffic().http).encode())[:-30])
    bad_json = write(tmp_path / "logs" / "2027-01-14" / "conn.01:00:00-02:00:00.log",
                     json_lines(beacon_traffic().conns[:3]) + '{"ts": 1800000000, "uid": \n[1, 2]\n')
    dns = write(tmp_path / "other" / "dns-copy.log", "#separator \\x09\n#path\tdns\n")
    for path in (good, binary, not_gzip, cut, bad_json, dns):
        os.utime(path, (T0 + DAY, T0 + DAY))  # written after their rows, as Zeek writes: all in the window
    files, _ = local_files([tmp_path / "logs", dns])
    logs = read_local(files, LogReader(Networks.with_defaults(), DAY))
    report = logs.report
    messages = {(Path(p.file).name, p.line, p.message) for p in report.problems}
    assert (binary.name, 1, "not a Zeek log: no #fields header and not a JSON object") in messages
    assert any(name == not_gzip.name and "not valid gzip" in message for name, _, message in messages)
    assert any(name == cut.name and "gzip stream ends early" in message for name, _, message in messages)
    assert (bad_json.name, 4, "is not valid JSON") in messages
    assert (bad_json.name, 5, "is not a JSON object") in messages
    assert (dns.name, 2, "a dns log, not conn, ssl or http") in messages
    assert sorted(map(os.path.basename, report.bad_files)) == sorted([binary.name, not_gzip.name, cut.name, dns.name])
    # the cut gzip's last line is incomplete too
    assert any(name == cut.name and "incomplete last line" in message for name, _, message in messages)
    assert report.bad_lines == 3 and not report.complete
    assert len([c for c in logs.conns]) == 70 + 3  # the good file and the good JSON lines were read
    assert len(logs.names) > 0  # the cut http log was read up to where it ends


def test_problems_are_all_counted_and_the_first_few_listed(tmp_path):
    lines = tsv("conn", beacon_traffic().conns).splitlines()
    lines[8:8] = ["garbage\tline"] * 12
    logs = read(write(tmp_path / "conn.log", "\n".join(lines) + "\n"))
    assert logs.report.bad_lines == 12 and len(logs.report.problems) == LISTED_PER_FILE
    assert logs.report.problems[0].message == "has 2 of the 22 fields"


def test_zeekctl_archive_layout_reads_only_files_that_can_overlap_the_window(tmp_path):
    logs_dir = tmp_path / "logs"
    spool = tmp_path / "spool" / "zeek"
    hours = 30
    for h in range(hours):
        start = T0 + h * 3600
        traffic = Traffic()
        traffic.add(SOURCE, SERVER, range(start, start + 3600, 60))
        day = "2027-01-15" if h < 16 else "2027-01-16"
        name = f"conn.{h % 24:02d}:00:00-{(h + 1) % 24:02d}:00:00.log.gz"
        path = logs_dir / day / name if h < hours - 1 else spool / "conn.log"
        write(path, tsv("conn", traffic.conns, close=h < hours - 1))
        os.utime(path, (start + 3600, start + 3600))
    (logs_dir / "current").symlink_to(spool, target_is_directory=True)
    logs = read(logs_dir, window=6 * 3600)
    report = logs.report
    assert report.files_read[0].endswith("current/conn.log")
    # the last connection is at 29:59, the window starts at 23:59, so rows count from 23:00; the file
    # written at 23:00 may hold a row of that second: hours 22-29 are read
    assert len(report.files_read) == 8 and len(report.files_skipped) == hours - 8
    result = find_beacons(logs.conns, logs.names, Networks.with_defaults(), 6 * 3600)
    assert result.pairs[0].connections == 7 * 60


def test_files_whose_mtime_is_older_than_their_rows_are_all_read(tmp_path):
    """Copied or touched logs: once a row is seen newer than its file, no file is skipped by its mtime."""
    for h in range(30):
        traffic = Traffic()
        traffic.add(SOURCE, SERVER, [T0 + h * 3600 + 60 * k for k in range(60)])
        path = write(tmp_path / "logs" / f"conn.{h:02d}.log", tsv("conn", traffic.conns))
        os.utime(path, (T0 - DAY + h, T0 - DAY + h))  # all "written" a day before their rows, oldest first
    logs = read(tmp_path / "logs", window=3600)
    assert len(logs.report.files_read) == 30 and logs.report.files_skipped == []


def test_missing_paths_and_empty_folders_are_problems(tmp_path):
    (tmp_path / "empty").mkdir()
    files, problems = local_files([tmp_path / "nope.log", tmp_path / "empty"])
    assert files == []
    assert [(Path(p.file).name, p.message) for p in problems] == [("nope.log", "no such file or folder"),
                                                                   ("empty", "has no conn, ssl or http log")]
