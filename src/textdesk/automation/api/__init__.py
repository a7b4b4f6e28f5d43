"""automation api."""
