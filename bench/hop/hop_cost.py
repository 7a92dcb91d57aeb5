#!/usr/bin/env python3
"""The extra cost of a request passed to the node holding its session (the cluster hop), measured once.

Starts a redis-server, two iogate nodes of one cluster (release binary) and a webhook backend that accepts every
hook, opens one Engine.IO session on node A, then sends the same polling POST (a noop packet: no webhook) N times
over one keep-alive connection, first to A itself (direct), then to B (passed to A). Reports the median and p99
latency per request and the CPU both iogate processes used per request (user + system, from /proc), and the
difference: the hop's extra cost.

Usage: hop_cost.py IOGATE_BINARY [REQUESTS]
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Accept(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def wait_port(port):
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"nothing listens on {port}")


def main():
    binary = sys.argv[1]
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    redis_port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    backend = ThreadingHTTPServer(("127.0.0.1", 0), Accept)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    nodes = {}
    workdir = tempfile.mkdtemp()
    try:
        wait_port(redis_port)
        for name in ["a", "b"]:
            port = free_port()
            config = os.path.join(workdir, f"{name}.toml")
            with open(config, "w") as f:
                f.write(
                    f'[server]\nlisten = "127.0.0.1:{port}"\n'
                    f'[cluster]\nredis = "redis://127.0.0.1:{redis_port}"\nnode_id = "{name}"\n'
                    f'[[endpoint]]\npath = "/engine.io"\nprotocol = "engine.io"\n'
                    f'webhook = "http://127.0.0.1:{backend.server_port}/hook"\n'
                    'ping_interval = "60s"\nping_timeout = "60s"\n'
                )
            process = subprocess.Popen([binary, "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            nodes[name] = (process, port)
            wait_port(port)
        time.sleep(2.5)  # both nodes see each other and the hop secret
        a_port = nodes["a"][1]
        conn = http.client.HTTPConnection("127.0.0.1", a_port)
        conn.request("GET", "/engine.io/?EIO=4&transport=polling")
        sid = json.loads(conn.getresponse().read()[1:])["sid"]
        results = {}
        for label, port in [("direct", a_port), ("hop", nodes["b"][1]), ("direct again", a_port), ("hop again", nodes["b"][1])]:
            conn = http.client.HTTPConnection("127.0.0.1", port)
            target = f"/engine.io/?EIO=4&transport=polling&sid={sid}"
            for _ in range(500):  # warm-up: connections and pools
                conn.request("POST", target, body=b"6", headers={"content-type": "text/plain"})
                assert conn.getresponse().read() == b"ok"
            cpu_before = sum(cpu_seconds(p.pid) for p, _ in nodes.values())
            latencies = []
            for _ in range(requests):
                started = time.perf_counter()
                conn.request("POST", target, body=b"6", headers={"content-type": "text/plain"})
                answer = conn.getresponse().read()
                latencies.append(time.perf_counter() - started)
                assert answer == b"ok", answer
            cpu = sum(cpu_seconds(p.pid) for p, _ in nodes.values()) - cpu_before
            latencies.sort()
            results[label] = (
                latencies[len(latencies) // 2] * 1e6,
                latencies[int(len(latencies) * 0.99)] * 1e6,
                cpu / requests * 1e6,
            )
            print(f"{label:>13}: median {results[label][0]:7.1f} us  p99 {results[label][1]:7.1f} us  "
                  f"server CPU {results[label][2]:6.1f} us/request")
        for name, (process, _) in nodes.items():
            process.terminate()
    finally:
        for process, _ in nodes.values():
            process.kill()
        redis.kill()
        backend.shutdown()


if __name__ == "__main__":
    main()
