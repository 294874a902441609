"""feedsvc: curated AI-ethics news published as syndication feeds."""

__version__ = "0.1.0"
