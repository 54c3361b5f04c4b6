"""vpc-mirror: AWS VPC Traffic Mirroring into a Zeek sensor, set up, proved live, hunted.

The repository keeps the design card's top-level folders (models/, steps/,
tui/, sandbox/); pyproject.toml maps them into this one package, so an install
adds ``vpc_mirror`` to site-packages and nothing else.
"""

__version__ = "0.2.0"
