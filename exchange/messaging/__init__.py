"""Kafka: safe client settings, topics, headers, the outbox relay and consumers."""
