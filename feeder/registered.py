"""Every channel feeder has, in the order each is told: a new one is one module
and one line here (docs/channels.md)."""

from __future__ import annotations

from feeder.channels.channel import Channel
from feeder.channels.fediverse.channel import Fediverse
from feeder.channels.telegram.channel import Telegram
from feeder.channels.websub.channel import WebSub
from feeder.serve.precompress import Precompress

CHANNELS: tuple[type[Channel], ...] = (Precompress, WebSub, Telegram, Fediverse)
