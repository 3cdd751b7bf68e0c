"""The scheduled jobs of `feeder run`: each a thin call into the feeder library."""
