"""The embedded AWS: moto's EC2 server plus a faithful traffic-mirroring extension, and a demo account."""

from importlib.resources import files


def demo_answers_text() -> str:
    """The answers file that applies cleanly against the demo seed."""
    return files(__package__).joinpath("demo-answers.yaml").read_text(encoding="utf-8")
