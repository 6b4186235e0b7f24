"""The network: robots.txt, politeness, fetching, sitemaps, feeds, links and the crawl frontier."""
