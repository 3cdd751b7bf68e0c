"""A Telegram channel: the message a story becomes, and the Bot API calls that post it."""
