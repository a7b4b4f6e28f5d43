"""Carrier protocol adapters and the local carrier simulator."""
