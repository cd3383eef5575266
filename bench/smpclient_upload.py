#!/usr/bin/env python3
"""Upload an image with smpclient (the Python SMP client smpmgr is built on), stop-and-wait.

    python bench/smpclient_upload.py PORT FILE

Prints {"ms": upload time} as JSON: from the first upload request to the last answer.
Used by bench/bench_real.py; exits non-zero when the upload fails.
"""
from __future__ import annotations

import asyncio
import json
import sys
import time

from smpclient import SMPClient
from smpclient.transport.serial import SMPSerialTransport


async def upload(port: str, path: str) -> float:
    image = open(path, "rb").read()
    async with SMPClient(SMPSerialTransport(), port) as client:
        t0 = time.monotonic()
        async for _ in client.upload(image):
            pass
        return time.monotonic() - t0


def main() -> int:
    sec = asyncio.run(upload(sys.argv[1], sys.argv[2]))
    print(json.dumps({"ms": round(sec * 1000)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
