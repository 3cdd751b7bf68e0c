"""Feeds: the feed model every format renders (`model`), built from stored stories
(`entries`) within a byte budget (`budget`), and the formats that render it: RSS 2.0
and Atom (`xmlfeeds`) and JSON Feed (`jsonfeed`), registered in `formats`. Renderers
here take plain data and never the store."""
