"""feeder: a news agency's wire articles as RSS 2.0 and Atom feeds."""

# The one place the version is written; pyproject.toml reads it from here. A
# literal rather than importlib.metadata, which cost a quarter of every
# command's start-up.
__version__ = "0.1.0"
