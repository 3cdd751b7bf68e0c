"""The base of every error feeder reports to a person instead of crashing."""


class FeederError(Exception):
    """An operational problem with a message that says what to do about it."""
