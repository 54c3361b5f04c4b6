"""Where the tests' data lives: tests/data/, inside the repository (tests/data/README.md credits every file).

No test reads anything outside the repository; this is the one place that names the folder.
"""

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
VXLAN = DATA / "vxlan"
ZEEKCTL = VXLAN / "zeekctl"
#: every shared VXLAN capture (tcpdump's and Zeek's), in a fixed order
VXLAN_CAPTURES = sorted((VXLAN / "tcpdump").glob("*.pcap")) + sorted((VXLAN / "zeek").glob("*.pcap"))
