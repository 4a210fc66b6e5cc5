"""A closed-loop HTTP load driver on Locust's FastHttpUser: N connections, each sending its next
request as soon as the last one answered, for a fixed time after a short warm-up.

Run as its own process (Locust monkey-patches the interpreter with gevent, which the benchmark's
main process, with its subprocesses, signals and database connections, must not be):

    python -m bench.httpload '{"port": 8000, "host": "acme.localhost", "path": "/", "users": 8, "seconds": 5}'

prints one JSON line: requests, failures, rps, p50_ms, p95_ms (Locust's percentiles: whole
milliseconds below 100 ms). Optional keys: "cookie" (a Cookie header), "warmup" seconds (default 1).
"""
import json
import sys
import time

import gevent
from locust import FastHttpUser, constant, task
from locust.env import Environment


def measure(spec: dict) -> dict:
    headers = {"Host": spec["host"], **({"Cookie": spec["cookie"]} if spec.get("cookie") else {})}

    class Hammer(FastHttpUser):
        host = f"http://127.0.0.1:{spec['port']}"
        wait_time = constant(0)

        @task
        def hit(self) -> None:
            with self.client.get(spec["path"], headers=headers, allow_redirects=False, catch_response=True,
                                 name="page") as response:
                if response.status_code != 200:
                    response.failure(f"status {response.status_code}")

    environment = Environment(user_classes=[Hammer])
    runner = environment.create_local_runner()
    runner.start(spec["users"], spawn_rate=1000)
    gevent.sleep(spec.get("warmup", 1.0))
    environment.stats.reset_all()
    began = time.monotonic()
    gevent.sleep(spec["seconds"])
    total = environment.stats.total
    requests, failures, elapsed = total.num_requests, total.num_failures, time.monotonic() - began
    p50, p95 = total.get_response_time_percentile(0.5), total.get_response_time_percentile(0.95)
    runner.quit()
    return {"requests": requests, "failures": failures, "rps": requests / elapsed, "p50_ms": p50, "p95_ms": p95}


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))), flush=True)
