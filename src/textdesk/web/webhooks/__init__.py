"""Carrier webhooks."""
