#!/usr/bin/env python3
"""A fast local webhook receiver for bench/run.py: asyncio HTTP/1.1 with keep-alive, answers 204, verifies
every Standard Webhooks signature against the secrets in SECRETS_FILE (one `whsec_...` per line, re-read
when a signature matches none) with the standard library's hmac, and writes its counts to STATS_FILE as
JSON every 0.2 s: {"received", "bad_signatures", "first", "last"} (monotonic seconds).

    python3 bench/receiver.py PORT SECRETS_FILE STATS_FILE [VERIFY_FILE]

VERIFY_FILE, re-read every 0.2 s, holds N: verify one request in N (default 1, every request). The bench
samples while it measures the API's write throughput (the receiver shares the machine's two cores with the
API, and a Python HMAC per request is not the API's cost) and verifies every request while it measures the
delivery rate.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import time


def load(path):
    with open(path) as f:
        return [base64.b64decode(line.strip()[len("whsec_"):]) for line in f if line.strip()]


def main():
    port, secrets_file, stats_file = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    verify_file = sys.argv[4] if len(sys.argv) > 4 else None
    verify_every = 1
    keys = load(secrets_file)
    stats = {"received": 0, "verified": 0, "bad_signatures": 0, "first": None, "last": None}

    def verified(path, headers, body):
        """The key of subscription N (`/hooks/N`, line N of the secrets file) first, then any."""
        nonlocal keys
        signed = f"{headers.get('webhook-id', '')}.{headers.get('webhook-timestamp', '')}.".encode() + body
        offered = headers.get("webhook-signature", "").split(" ")
        index = path.rsplit("/", 1)[-1]
        for attempt in range(2):
            first = [keys[int(index)]] if index.isdigit() and int(index) < len(keys) else []
            for key in first + keys:
                expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
                if any(hmac.compare_digest(expected, o) for o in offered):
                    return True
            if attempt == 0:
                keys = load(secrets_file)
        return False

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1] if lines[0].count(" ") >= 2 else ""
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                now = time.monotonic()
                stats["received"] += 1
                stats["first"] = stats["first"] or now
                stats["last"] = now
                if stats["received"] % verify_every == 0:
                    stats["verified"] += 1
                    if not verified(path, headers, body):
                        stats["bad_signatures"] += 1
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def report():
        nonlocal verify_every
        while True:
            if verify_file:
                try:
                    with open(verify_file) as f:
                        verify_every = max(1, int(f.read().strip() or "1"))
                except (OSError, ValueError):
                    verify_every = 1
            with open(stats_file + ".tmp", "w") as f:
                json.dump(stats, f)
            os.replace(stats_file + ".tmp", stats_file)
            await asyncio.sleep(0.2)

    async def serve():
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        asyncio.get_running_loop().create_task(report())
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
