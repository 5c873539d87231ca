"""JavaScript galleries as data: per-site adapters, built-in profiles and one extractor.

- :mod:`crawler.gallery.adapter`: :class:`GalleryAdapter`, what a site looks like (listings
  with their placement, search URL, item link patterns, scroll container, end-of-feed
  signals, where fields come from, media CDN hosts, login session), read from watch.toml.
- :mod:`crawler.gallery.profiles`: built-in adapters (Tensor.Art, SeaArt, LiblibAI/Shakker,
  pixiv) a platform names with ``profile = "..."`` and overrides key by key.
- :mod:`crawler.gallery.paths`: the small JSON path language of the field mappings.
- :mod:`crawler.gallery.extract`: records from fetched JSON, embedded state or CSS selectors,
  turned into typed items.
- :mod:`crawler.gallery.feed`: the end-of-feed bookkeeping of one listing (decided from data).

The spider (:mod:`crawler.spiders.gallery`) knows no site: everything site-specific is here.
"""
