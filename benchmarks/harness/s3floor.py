"""The S3 server's own floor: PUT every file of a folder, many requests at once, no tool.

    python s3floor.py ENDPOINT BUCKET/PREFIX FOLDER [REQUESTS]

No hashing, no listing, no cache: each file is read and sent as one ``PutObject``,
``REQUESTS`` (default 32, gitexp's number) at a time on one event loop, through
aiobotocore (the client s3fs uses). Credentials come from ``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY``. What this takes is what the server needs to accept the
objects; a tool's push cannot be much faster.
"""

from __future__ import annotations

import asyncio
import os
import sys


async def put_all(endpoint: str, where: str, folder: str, requests: int) -> int:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    bucket, _, prefix = where.partition("/")
    paths = [os.path.join(d, name) for d, _dirs, names in os.walk(folder) for name in names]
    limit = asyncio.Semaphore(requests)
    config = AioConfig(max_pool_connections=requests)
    session = get_session()
    async with session.create_client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", config=config
    ) as s3:

        async def put(path: str) -> None:
            async with limit:
                with open(path, "rb") as f:
                    body = f.read()
                key = f"{prefix}/{os.path.relpath(path, folder)}".lstrip("/")
                await s3.put_object(Bucket=bucket, Key=key, Body=body)

        await asyncio.gather(*(put(p) for p in paths))
    return len(paths)


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    requests = int(argv[3]) if len(argv) == 4 else 32
    asyncio.run(put_all(argv[0], argv[1], argv[2], requests))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
