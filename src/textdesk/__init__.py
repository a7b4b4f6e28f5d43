"""textdesk: two-way patient texting for dental and medical practices."""

__version__ = "0.1.0"
