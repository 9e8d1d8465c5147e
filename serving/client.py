"""HTTP client of the embedding service, as the tracker bridge uses it.

    client = EmbeddingClient("http://127.0.0.1:8000", api_key=None)
    features = client.embed(crops)               # (N, 128) float32
    features = client.embed_boxes(frame, boxes)  # boxes (N, 4) x, y, w, h

Crops and frames travel as PNG (lossless, so the service sees exactly the caller's pixels)
and embeddings come back as a float32 .npy body. A busy service (503) is retried with
exponential backoff, honouring Retry-After; every other failure is a `ServiceError` naming the
problem and the fix. Needs only httpx, numpy and OpenCV (no FastAPI, no TensorFlow).
"""

from __future__ import annotations

import io
import json
import time

import cv2
import httpx
import numpy as np

from core.errors import ReidError

NPY_MEDIA_TYPE = "application/x-npy"
EMBEDDING_DIM = 128


class ServiceError(ReidError):
    """The service refused or failed a request, or cannot be reached; `status` 0 means no reply."""

    def __init__(self, problem: str, fix: str = "", status: int = 0):
        super().__init__(problem, fix)
        self.status = status


class EmbeddingClient:
    """Embeddings from a running `reid serve`.

    `timeout`: seconds for one HTTP exchange. `retries`: extra attempts after a 503, waiting
    `backoff` seconds doubled each time (or the server's Retry-After when larger), at most
    `max_backoff`. `png_compression`: 0-9; 1 is fast and the bytes stay lossless.
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 5,
        backoff: float = 0.1,
        max_backoff: float = 5.0,
        png_compression: int = 1,
        transport: httpx.BaseTransport | None = None,
    ):
        self.url = url.rstrip("/")
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._png_params = [cv2.IMWRITE_PNG_COMPRESSION, int(png_compression)]
        headers = {"Accept": NPY_MEDIA_TYPE}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> EmbeddingClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def embed(self, crops) -> np.ndarray:
        """(N, 128) float32 embeddings of BGR uint8 crops: an (N, H, W, 3) array or a list of
        (H, W, 3) arrays of any size (the service resizes them to 128 x 64)."""
        crops = list(crops)
        if not crops:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        files = [
            ("images", (f"{i}.png", self._png(crop, f"crop {i}"), "image/png"))
            for i, crop in enumerate(crops)
        ]
        return self._post("/embed", files=files)

    def embed_boxes(self, frame: np.ndarray, boxes) -> np.ndarray:
        """(N, 128) embeddings of boxes (x, y, w, h) in a BGR frame, cut by deep_sort's rules."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        if len(boxes) == 0:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        files = [("image", ("frame.png", self._png(frame, "frame"), "image/png"))]
        data = {"boxes": json.dumps(boxes.tolist())}
        return self._post("/embed/boxes", files=files, data=data)

    def model(self) -> dict:
        """The service's GET /model: model name, sha256, backend, batching settings."""
        return self._request("GET", "/model").json()

    def _png(self, image, what: str) -> bytes:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or not image.size:
            raise ServiceError(
                f"The {what} must be an H x W x 3 uint8 BGR image; got shape {image.shape} "
                f"and dtype {image.dtype}.",
                "Pass images as cv2.imread returns them.",
            )
        ok, data = cv2.imencode(".png", image, self._png_params)
        if not ok:
            raise ServiceError(f"OpenCV could not encode the {what} as PNG.")
        return data.tobytes()

    def _post(self, path: str, **content) -> np.ndarray:
        response = self._request("POST", path, **content)
        try:
            return np.load(io.BytesIO(response.content), allow_pickle=False)
        except ValueError as error:
            raise ServiceError(
                f"The service at {self.url} sent an unreadable .npy body: {error}.",
                "Check that the URL points to `reid serve`.",
                response.status_code,
            ) from None

    def _request(self, method: str, path: str, **content) -> httpx.Response:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(method, path, **content)
            except httpx.ConnectError as error:
                raise ServiceError(
                    f"Cannot reach the embedding service at {self.url}: {error}.",
                    "Start it with `reid serve --model MODEL` or check the URL and port.",
                ) from None
            except httpx.TimeoutException:
                raise ServiceError(
                    f"The embedding service at {self.url} did not answer {method} {path} in time.",
                    "Raise the client timeout, send fewer crops per call, or add instances.",
                ) from None
            except httpx.HTTPError as error:
                raise ServiceError(
                    f"The request to {self.url}{path} failed: {type(error).__name__}: {error}.",
                    "Check that the URL points to `reid serve`.",
                ) from None
            if response.status_code != 503 or attempt == self.retries:
                break
            time.sleep(min(max(delay, _retry_after(response)), self.max_backoff))
            delay *= 2
        if response.status_code >= 400:
            raise _error_from(response, self.url)
        return response


def _retry_after(response: httpx.Response) -> float:
    try:
        return float(response.headers.get("retry-after", 0))
    except ValueError:
        return 0.0


def _error_from(response: httpx.Response, url: str) -> ServiceError:
    """The service's JSON error body as a ServiceError (or the raw text when it has none)."""
    try:
        body = response.json()
        problem, fix = body["problem"], body.get("fix", "")
    except (ValueError, KeyError, TypeError):
        problem = f"{response.status_code} {response.reason_phrase}: {response.text[:200]}"
        fix = "Check that the URL points to `reid serve`."
    if response.status_code == 401:
        fix = fix or "Pass api_key= the service's key."
    return ServiceError(
        f"The embedding service at {url} answered {response.status_code}: {problem}",
        fix,
        response.status_code,
    )
