"""Thin handlers, one module per resource: request → service function → response."""
