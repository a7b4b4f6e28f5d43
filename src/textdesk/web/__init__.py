"""HTTP: the API, the carrier webhooks and the staff pages."""
