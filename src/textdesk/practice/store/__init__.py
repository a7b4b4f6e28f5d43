"""practice store."""
