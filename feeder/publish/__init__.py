"""Publishing: what turns the store's changes into files. The `publisher` redoes only
what changed, for the feeds (`archives` keeps their RFC 5005 pages) and the site
(`site`), records the settings baked into the output (`output_settings`) and tells
what follows publishing about every file it wrote (`events`)."""
