"""Event webhooks for integrations: endpoints, the outbox of signed deliveries, their sending."""
