"""Link checking: know whether each article's original URL still resolves."""
