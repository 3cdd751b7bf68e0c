"""The site people read: page renderers (`pages`, `sitemaps`) that take plain data
from `feeder.model`, where each page lives (`paths`), which article pages are
withdrawal notices (`withdrawals`), and the writer that turns rendered pages into
files (`pagewriter`). The templates and stylesheet are in `templates/`."""
