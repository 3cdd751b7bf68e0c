"""Channels: deliveries to the places readers follow news, after a story or a feed
changes. Each channel is one module or package (`websub`, …); requests to addresses
someone else chose go through `outgoing`."""
