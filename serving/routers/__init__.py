"""One APIRouter per resource; `serving.app` includes them, adding the API key where it is on.

`embeddings` (POST /embed, /embed/boxes), `health` (GET /healthz, /readyz), `model` (GET /model)
and `metrics` (GET /metrics). The probes stay open when the key is on; the others need it.
"""
