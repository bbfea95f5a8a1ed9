"""The CPU floor: the same requests sent with bare httpx, one after another, in a fresh process.

``python -m benchmarks.cpu URL TOKEN REQUESTS.json`` replays the ``GET`` requests listed (path and
query, as the sandbox logged them) with a plain ``httpx.Client`` and decodes each JSON answer, and
prints the CPU seconds of the process for importing httpx and sending them: what any Python client
built on httpx pays for those requests, and nothing of promoter's.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def replay(url: str, token: str, requests: list[list[str]]) -> dict[str, float]:
    """CPU seconds of importing httpx and of sending ``requests`` ([method, path, query])."""
    started = time.process_time()
    import httpx

    imported = time.process_time() - started
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}",
                                             "talend-version": "2021-03"}, timeout=60) as http:
        loop = time.process_time()
        for method, path, query in requests:
            answer = http.request(method, path + (f"?{query}" if query else ""))
            if answer.content:
                answer.json()
        sent = time.process_time() - loop
    return {"import_cpu_seconds": round(imported, 3), "requests_cpu_seconds": round(sent, 3),
            "requests": len(requests)}


def main(argv: list[str]) -> int:
    """``URL TOKEN REQUESTS.json``: print the figures as JSON."""
    url, token, path = argv[0], argv[1], Path(argv[2])
    print(json.dumps(replay(url, token, json.loads(path.read_text()))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
