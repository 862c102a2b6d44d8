"""Load generator of bench/load.py: runs in its own process, talks HTTP/1.1 to 127.0.0.1 only.

    python bench/loadgen.py SPEC.json   # prints one JSON line of results

SPEC: {"port": 8765, "mode": "open" | "closed", "rate": 200, "duration": 10, "concurrency": 8,
       "timeout": 10, "requests": [[method, path, {headers}, body or null], ...]}

open: a constant arrival rate (open model). Request i is due at start + i / rate, whatever
happened to the earlier ones, and its latency is counted from that due time, so a slow server
cannot hide its queue (no coordinated omission). At most ``max_in_flight`` requests are open at
once; a request waiting for a slot keeps counting from its due time.
closed: ``concurrency`` loops each sending the next request as soon as the previous answer is
in, for ``duration`` seconds: the maximum throughput.

A new TCP connection per request, as gunicorn's sync workers close each one after answering.
Requests cycle through ``requests`` in order. Only status codes and timings are kept: no body.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


def encode(method: str, path: str, headers: dict, body: str | None, port: int) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    payload = body.encode() if body is not None else b""
    if body is not None:
        lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def read_response(reader: asyncio.StreamReader) -> int:
    """Reads one response (Content-Length, chunked or until close); returns its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = None
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length is not None:
        await reader.readexactly(length)
    else:
        await reader.read()
    return status


async def one(port: int, raw: bytes, timeout: float) -> int:
    async def exchange() -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(raw)
            await writer.drain()
            return await read_response(reader)
        finally:
            writer.close()

    try:
        return await asyncio.wait_for(exchange(), timeout)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
        return 0


def summary(latencies: list[float], statuses: list[int], elapsed: float, expected: set[int]) -> dict:
    ok = sorted(lat for lat, code in zip(latencies, statuses, strict=True) if code in expected)
    every = sorted(latencies)

    def pct(values, q):
        if not values:
            return None
        return round(values[min(len(values) - 1, max(0, int(round(q * len(values))) - 1))] * 1000, 2)

    codes: dict[str, int] = {}
    for code in statuses:
        codes[str(code)] = codes.get(str(code), 0) + 1
    return {
        "sent": len(statuses),
        "ok": len(ok),
        "errors": len(statuses) - len(ok),
        "statuses": codes,
        "elapsed_s": round(elapsed, 3),
        "rps": round(len(ok) / elapsed, 1) if elapsed else None,
        # Percentiles of every request (an error counts with its time): errors must not flatter them.
        "p50_ms": pct(every, 0.50),
        "p95_ms": pct(every, 0.95),
        "p99_ms": pct(every, 0.99),
        "max_ms": round(every[-1] * 1000, 2) if every else None,
    }


async def run_open(spec: dict, raws: list[bytes], expected: set[int]) -> dict:
    rate, duration, port, timeout = spec["rate"], spec["duration"], spec["port"], spec.get("timeout", 10)
    total = int(rate * duration)
    slots = asyncio.Semaphore(spec.get("max_in_flight", 256))
    latencies = [0.0] * total
    statuses = [0] * total
    loop = asyncio.get_running_loop()

    async def fire(i: int, due: float):
        async with slots:
            code = await one(port, raws[i % len(raws)], timeout)
        latencies[i] = loop.time() - due
        statuses[i] = code

    start = loop.time() + 0.05
    tasks = []
    for i in range(total):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(fire(i, due)))
    # Bounded in time: whatever is still unanswered "timeout" seconds after the last due time counts
    # as an error (status 0) with its time so far.
    _, unanswered = await asyncio.wait(tasks, timeout=max(0.0, start + duration + timeout - loop.time()))
    for task in unanswered:
        task.cancel()
    end = loop.time()
    for i, task in enumerate(tasks):
        if task in unanswered:
            latencies[i], statuses[i] = end - (start + i / rate), 0
    result = summary(latencies, statuses, end - start, expected)
    result["rate"] = rate
    # Requests answered later than their due time by more than a second: the server fell behind.
    result["late_1s"] = sum(lat > 1 for lat in latencies)
    return result


async def run_closed(spec: dict, raws: list[bytes], expected: set[int]) -> dict:
    duration, port, timeout = spec["duration"], spec["port"], spec.get("timeout", 10)
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    statuses: list[int] = []
    counter = iter(range(10**9))
    start = loop.time()
    stop = start + duration

    async def worker():
        while loop.time() < stop:
            i = next(counter)
            sent = loop.time()
            code = await one(port, raws[i % len(raws)], timeout)
            latencies.append(loop.time() - sent)
            statuses.append(code)

    await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))
    result = summary(latencies, statuses, loop.time() - start, expected)
    result["concurrency"] = spec["concurrency"]
    return result


def main() -> None:
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    port = spec["port"]
    raws = [encode(m, p, h, b, port) for m, p, h, b in spec["requests"]]
    expected = set(spec.get("expected", [200, 201]))
    runner = run_open if spec["mode"] == "open" else run_closed
    started = time.perf_counter()
    result = asyncio.run(runner(spec, raws, expected))
    result["wall_s"] = round(time.perf_counter() - started, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
