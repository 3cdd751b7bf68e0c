"""Places feeder posts its stories to besides its own feeds and site, one package each."""
