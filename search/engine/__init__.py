"""The search engine: the only package that imports Whoosh.

Everything else in the product reaches the index through :class:`Searcher` (reading) and
:func:`build_generation` / :func:`update_live` (writing), whose arguments and results are the
product's own types.
"""
