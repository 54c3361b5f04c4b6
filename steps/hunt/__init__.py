"""``vpc-mirror hunt``: Zeek logs (read here or from the sensor) -> beacon pairs scored as RITA v5 scores them.

score.py is RITA's arithmetic (pure), pairs.py turns log records into scored
pairs (pure), zeeklogs.py reads Zeek's TSV/JSON logs, remote.py streams them
from the sensor over SSH.
"""
