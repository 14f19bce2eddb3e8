"""Messenger channels: one adapter per platform behind one interface, the webhook routes, the
durable inbox and outbox, and the deployments that bind a published flow to a channel account."""
