"""Wall time of one diary form submission to `nof1 serve` (POST /diary, a new day each time).

A uvicorn server runs in a thread on 127.0.0.1 for a fresh, started workspace (magnesium
template). Each run submits a full day over a kept-alive HTTP connection, as the phone does.
Two figures, median and quartiles of RUNS submissions (default 30, at least 20):

* server-side: from the request entering the ASGI application to the end of the response
  (parse the form, open the workspace, validate, write one transaction, evaluate the stopping
  rules, render the page);
* round trip: the whole HTTP request as the client sees it (socket, uvicorn, the above).

    .venv/bin/python benchmarks/bench_web.py [RUNS]
"""

from __future__ import annotations

import datetime as dt
import http.client
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "B" * 43


def make_workspace(folder: Path, days_ago: int) -> None:
    from nof1.protocol import set_design_values
    from nof1.workspace import Workspace

    text = (ROOT / "protocols" / "migraine-magnesium.toml").read_text(encoding="utf-8")
    start = dt.date.today() - dt.timedelta(days=days_ago)
    folder.mkdir()
    (folder / "protocol.toml").write_text(
        set_design_values(text, {"start_date": start, "seed": 1234}), encoding="utf-8"
    )
    with Workspace.open(folder) as ws:
        ws.start()


class Timed:
    """ASGI wrapper: records the server-side time of each POST."""

    def __init__(self, app: Any) -> None:
        self.app, self.seconds = app, []  # type: list[float]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        start = time.perf_counter()
        await self.app(scope, receive, send)
        if scope["type"] == "http" and scope["method"] == "POST":
            self.seconds.append(time.perf_counter() - start)


def quartiles(values: list[float]) -> str:
    q1, median, q3 = statistics.quantiles(values, n=4)
    return f"median {median * 1000:.1f} ms (quartiles {q1 * 1000:.1f}–{q3 * 1000:.1f} ms)"


def main() -> None:
    import uvicorn

    from nof1.web.app import create_app

    runs = max(20, int(sys.argv[1])) if len(sys.argv) > 1 else 30
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "trial"
        make_workspace(folder, days_ago=runs + 5)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        app = create_app(folder, token=TOKEN, host="127.0.0.1", port=port)
        keys = app.state.site.keys
        timed = Timed(app)
        server = uvicorn.Server(
            uvicorn.Config(timed, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        connection = http.client.HTTPConnection("127.0.0.1", port)
        headers = {
            "Host": f"127.0.0.1:{port}",
            "Cookie": f"{keys.cookie_name}={keys.session}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": f"http://127.0.0.1:{port}",
        }
        round_trips = []
        today = dt.date.today()
        for back in range(1, runs + 1):
            body = urllib.parse.urlencode(
                {
                    "csrf": keys.csrf("diary"),
                    "date": (today - dt.timedelta(days=back)).isoformat(),
                    "headache_day": "yes",
                    "peak_pain": "5",
                    "severity": "moderate",
                    "acute_med_days": "1",
                    "took": "yes",
                    "note": "benchmark",
                }
            )
            start = time.perf_counter()
            connection.request("POST", "/diary", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            round_trips.append(time.perf_counter() - start)
            if response.status != 200:
                raise SystemExit(f"submission {back} answered {response.status}")
        connection.close()
        server.should_exit = True
        thread.join(timeout=10)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"nof1 serve: one diary form submission (POST /diary, a new day), {runs} runs")
    print(f"  server-side: {quartiles(timed.seconds)}")
    print(f"  round trip:  {quartiles(round_trips)}")
    print(f"  load average (1, 5, 15 min): {load}; CPUs: {os.cpu_count()}")


if __name__ == "__main__":
    main()
