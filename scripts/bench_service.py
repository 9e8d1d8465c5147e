"""Benchmark the embedding service against the Encoder called directly, in one run.

Measures, on this machine and in this order:
  1. direct: `Encoder.encode` on the crops in batches of --max-batch-size (the ceiling);
  2. the service with micro-batching (its defaults) and with batching switched off
     (--max-batch-size 1), each at 1, 4, 16 and 64 concurrent clients.
Every client sends the same --crops-per-request PNG crops (128 x 64; real MOT17 crops when
REID_REALDATA_DIR has them, else random pixels) per POST /embed with
`Accept: application/x-npy`, one request after the other, for --duration seconds. Clients
are threads in separate client processes (at most --client-processes), talking HTTP/1.1 with
keep-alive to the server on 127.0.0.1. Throughput counts crops of successful answers over the
wall time until the last answer; latency is per request.

The model is --model, or a randomly initialised network exported to ONNX (needs TensorFlow;
random weights cost the same as trained ones).

Usage:
    .venv/bin/python scripts/bench_service.py [--model model.onnx] [--output bench_service.json]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchlib import describe_machine  # noqa: E402

from core.atomic import write_json_atomic  # noqa: E402

GOAL_CLIENTS, GOAL_RATIO, GOAL_P99_BATCHES = 16, 0.9, 4.0


def random_model(folder: Path) -> Path:
    """A randomly initialised network exported to ONNX, made in a separate process."""
    path = folder / "random.onnx"
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, '.')\n"
        "from training.random_run import write_random_run\n"
        "from encoder.export import export\n"
        f"run = Path({str(folder / 'run')!r}); run.mkdir()\n"
        f"write_random_run(run); export(str(run), {str(path)!r}, 'onnx')\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, env=env)
    return path


def make_crops(count: int, realdata: str | None, seed: int = 0) -> tuple[np.ndarray, str]:
    """(crops, where from): real MOT17 ground-truth crops when the real data is here, else
    random pixels (incompressible, so their PNGs are the largest a client could send)."""
    mot = Path(realdata or "") / "MOT17-mini" / "train"
    if realdata and mot.is_dir():
        from encoder.fidelity import mot_crops

        crops = mot_crops(mot, 512)
        picked = np.random.default_rng(seed).choice(len(crops), count, replace=count > len(crops))
        return crops[picked], f"MOT17 ground-truth boxes of {mot}"
    random = np.random.default_rng(seed).integers(0, 256, (count, 128, 64, 3), dtype=np.uint8)
    return random, "random pixels"


def multipart_body(crops: np.ndarray) -> tuple[bytes, str]:
    import cv2

    boundary = uuid.uuid4().hex
    pieces = []
    for index, crop in enumerate(crops):
        data = cv2.imencode(".png", crop, [cv2.IMWRITE_PNG_COMPRESSION, 1])[1].tobytes()
        pieces.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="images"; '
            f'filename="{index}.png"\r\nContent-Type: image/png\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    body = b"".join(pieces) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def measure_direct(model: Path, crops: np.ndarray, batch_size: int, seconds: float) -> dict:
    from encoder import Encoder

    encoder = Encoder(model, batch_size=batch_size)
    encoder.encode(crops[:batch_size])
    engine = f"{encoder.backend} {encoder.precision}"
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        encoder.encode(crops)
        done += len(crops)
    elapsed = time.perf_counter() - started
    return {"crops": done, "seconds": elapsed, "crops_per_s": done / elapsed, "engine": engine}


# ---- client processes -----------------------------------------------------------------


def client_process(port, threads, body, content_type, start_at, stop_at, results):
    """`threads` clients in this process; puts a list of (latency_s, status, finished_at)."""
    records, lock = [], threading.Lock()

    def client():
        mine = []
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        headers = {"Content-Type": content_type, "Accept": "application/x-npy"}
        while time.time() < start_at:
            time.sleep(0.001)
        while time.time() < stop_at:
            began = time.perf_counter()
            try:
                connection.request("POST", "/embed", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            mine.append((time.perf_counter() - began, status, time.time()))
        connection.close()
        with lock:
            records.extend(mine)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put(records)


def run_clients(port, clients, processes, body, content_type, crops_per_request, seconds):
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = min(processes, clients)
    shares = [clients // processes + (i < clients % processes) for i in range(processes)]
    start_at = time.time() + 2.0  # time for the client processes to start
    stop_at = start_at + seconds
    workers = [
        context.Process(
            target=client_process,
            args=(port, share, body, content_type, start_at, stop_at, results),
        )
        for share in shares
    ]
    for worker in workers:
        worker.start()
    records = [record for _ in workers for record in results.get()]
    for worker in workers:
        worker.join()
    ok = [latency for latency, status, _ in records if status == 200]
    wall = max(finished for _, _, finished in records) - start_at
    latencies = np.array(ok) * 1000.0 if ok else np.array([np.nan])
    return {
        "clients": clients,
        "requests": len(records),
        "errors": len(records) - len(ok),
        "crops_per_s": len(ok) * crops_per_request / wall,
        "p50_ms": float(np.percentile(latencies, 50)),
        "p99_ms": float(np.percentile(latencies, 99)),
        "seconds": wall,
    }


# ---- the server -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model: Path, port: int, options: list[str], log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "serving", "--model", str(model), "--port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*command, "--log-level", "warning", *options],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    deadline = time.time() + 180
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited:\n{log.read_text()}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the server did not get ready:\n{log.read_text()}")


def batch_stats(port: int) -> tuple[float, float]:
    """(sum, count) of the server's batch-size histogram."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    values = dict(re.findall(r"^reid_batch_size_(sum|count) (\S+)$", text, re.MULTILINE))
    return float(values.get("sum", 0)), float(values.get("count", 0))


def bench_server(model, name, options, body, content_type, args, folder) -> list[dict]:
    """Start the service with `options`, run every client level against it, stop it."""
    port = free_port()
    process = start_server(model, port, options, folder / f"server-{name}.log")
    rows = []
    try:
        rate = None
        for clients in args.levels:
            before = batch_stats(port)
            # Long enough for --min-rounds rounds of every client's request at the last rate.
            seconds = args.duration
            if rate:
                seconds = max(seconds, args.min_rounds * clients * args.crops_per_request / rate)
            row = run_clients(
                port,
                clients,
                args.client_processes,
                body,
                content_type,
                args.crops_per_request,
                seconds,
            )
            rate = row["crops_per_s"]
            after = batch_stats(port)
            batches = after[1] - before[1]
            row["mean_batch"] = (after[0] - before[0]) / batches if batches else 0.0
            row["config"] = name
            rows.append(row)
            print(
                f"  {name:>10} {clients:>3} clients: {row['crops_per_s']:8.1f} crops/s, "
                f"p50 {row['p50_ms']:7.1f} ms, p99 {row['p99_ms']:7.1f} ms, "
                f"mean batch {row['mean_batch']:5.1f}, errors {row['errors']}",
                flush=True,
            )
    finally:
        process.terminate()
        process.wait(60)
    return rows


def service_machine() -> dict:
    import fastapi
    import onnxruntime
    import openvino
    import uvicorn

    return describe_machine(
        onnxruntime=onnxruntime.__version__,
        openvino=openvino.__version__,
        fastapi=fastapi.__version__,
        uvicorn=uvicorn.__version__,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help=".onnx model (default: random)")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--crops-per-request", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per level, at least")
    parser.add_argument(
        "--min-rounds",
        type=float,
        default=3.0,
        help="a level lasts long enough for every client to finish this many requests",
    )
    parser.add_argument("--max-batch-size", type=int, default=64, help="service and direct")
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--output", type=Path, default=Path("bench_service.json"))
    parser.add_argument(
        "--realdata",
        default=os.environ.get("REID_REALDATA_DIR"),
        help="folder with MOT17-mini, whose crops the clients send (default: REID_REALDATA_DIR)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_service_") as temporary:
        folder = Path(temporary)
        model = args.model or random_model(folder)
        crops, crops_from = make_crops(args.crops_per_request, args.realdata)
        body, content_type = multipart_body(crops)
        load_before = os.getloadavg()
        print(
            f"model {model}; {args.crops_per_request} crops per request "
            f"({len(body) / 1024:.0f} KiB of PNG) from {crops_from}",
            flush=True,
        )
        direct_crops, _ = make_crops(4 * args.max_batch_size, args.realdata, seed=1)
        before = measure_direct(model, direct_crops, args.max_batch_size, args.duration)
        print(
            f"  direct Encoder (batch {args.max_batch_size}): {before['crops_per_s']:.1f} crops/s"
        )
        rows = []
        for name, batch in (("batched", args.max_batch_size), ("unbatched", 1)):
            rows += bench_server(
                model, name, ["--max-batch-size", str(batch)], body, content_type, args, folder
            )
        after = measure_direct(model, direct_crops, args.max_batch_size, args.duration)
        print(f"  direct Encoder again: {after['crops_per_s']:.1f} crops/s")

    direct = {
        "crops_per_s": (before["crops_per_s"] + after["crops_per_s"]) / 2,
        "before_service": before,
        "after_service": after,
    }
    # One full batch's time on the direct Encoder: what a request's p99 is compared with.
    direct["single_batch_ms"] = 1000.0 * args.max_batch_size / direct["crops_per_s"]
    for row in rows:
        row["ratio_to_direct"] = row["crops_per_s"] / direct["crops_per_s"]
        row["p99_in_batches"] = row["p99_ms"] / direct["single_batch_ms"]
    goal_rows = [r for r in rows if r["config"] == "batched" and r["clients"] == GOAL_CLIENTS]
    goal_met = bool(goal_rows) and all(
        r["ratio_to_direct"] >= GOAL_RATIO
        and r["errors"] == 0
        and r["p99_in_batches"] < GOAL_P99_BATCHES
        for r in goal_rows
    )
    report = {
        "machine": {
            **service_machine(),
            "load_average_before": load_before,
            "load_after": os.getloadavg(),
        },
        "settings": {
            "crops_per_request": args.crops_per_request,
            "crops_from": crops_from,
            "request_bytes": len(body),
            "duration_s": args.duration,
            "min_rounds": args.min_rounds,
            "max_batch_size": args.max_batch_size,
            "client_processes": args.client_processes,
            "model": str(args.model) if args.model else "random weights (ONNX)",
        },
        "direct": direct,
        "service": rows,
        "goal": {
            "clients": GOAL_CLIENTS,
            "min_ratio": GOAL_RATIO,
            "max_p99_in_single_batches": GOAL_P99_BATCHES,
            "met": goal_met,
        },
    }
    write_json_atomic(args.output, report)

    print()
    print(
        f"direct Encoder: {direct['crops_per_s']:.1f} crops/s (batch {args.max_batch_size}; mean "
        f"of {before['crops_per_s']:.1f} before and {after['crops_per_s']:.1f} after the service)"
    )
    print("| config | clients | crops/s | x direct | p50 ms | p99 ms | mean batch | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['config']} | {r['clients']} | {r['crops_per_s']:.1f} | "
            f"{r['ratio_to_direct']:.2f} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | "
            f"{r['mean_batch']:.1f} | {r['errors']} |"
        )
    print(
        f"goal (batched, {GOAL_CLIENTS} clients, >= {GOAL_RATIO:.0%} of direct, no errors, p99 "
        f"under {GOAL_P99_BATCHES:g} x one batch's {direct['single_batch_ms']:.0f} ms): "
        f"{'met' if goal_met else 'NOT met'}; JSON in {args.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
