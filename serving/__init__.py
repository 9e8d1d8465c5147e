"""Embedding service: the FastAPI app, its micro-batcher, settings, and the HTTP client.

`app.create_app` wires the routers (`routers/`), their dependencies, error handlers and
metrics around one `service.Service`; `server.serve` loads the model and runs it on uvicorn;
`client.EmbeddingClient` talks to it. Nothing here needs TensorFlow.
"""
