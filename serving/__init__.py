"""Embedding service: FastAPI app, micro-batcher, settings and HTTP client."""
