"""The base of every error feeder reports to a person instead of crashing."""

# sysexits.h's EX_CONFIG. systemd's RestartPreventExitStatus= names it, so that a
# broken config.toml stops the service instead of restarting it forever.
CONFIG_EXIT_STATUS = 78


class FeederError(Exception):
    """An operational problem with a message that says what to do about it."""

    # What the command exits with when this ends it.
    exit_status = 1
