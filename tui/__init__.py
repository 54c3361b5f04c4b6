"""The Textual front end and the command line."""

__version__ = "0.1.0"
