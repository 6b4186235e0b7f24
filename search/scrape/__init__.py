"""Getting documents in: fetching pages and reading local files."""
