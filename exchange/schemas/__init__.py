"""Schemas: canonical JSON Schema generation, compatibility checks and the schema registry."""
