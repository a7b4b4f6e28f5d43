"""practice api."""
