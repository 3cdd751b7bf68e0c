"""Serving the output: feeder's own HTTP server, the rules it shares with the nginx
block it writes (`http_rules`: media types, caching, 410 Gone), and the gzip copies
both send (`precompress`)."""
