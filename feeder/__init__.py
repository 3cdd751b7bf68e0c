"""feeder: a news agency's wire articles as RSS 2.0 and Atom feeds."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("feeder")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
