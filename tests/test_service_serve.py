"""`matcher serve` as its own process: it says where it listens, pins and logs numba's
threading layer, answers over mutual TLS and, on SIGTERM, finishes the call in flight
before it exits 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from grpc_health.v1 import health_pb2, health_pb2_grpc

import service_nodes as sn
from matcher.service import convert
from matcher._proto.prum.v1 import finger_pb2_grpc

#: `matcher serve` through the module's own entry points (independent of cli.py's wiring).
SERVE = ("import argparse, sys\n"
         "from matcher.service import cli_service\n"
         "parser = argparse.ArgumentParser()\n"
         "cli_service.add_serve_arguments(parser)\n"
         "sys.exit(cli_service.run_serve(parser.parse_args(sys.argv[1:])))\n")
QUERIES_IN_FLIGHT = 800   # ~1.5 s of fingerprint searching on the test machine


def _read_ready_line(process: subprocess.Popen, timeout: float = 60) -> dict:
    box: dict = {}
    reader = threading.Thread(target=lambda: box.update(line=process.stdout.readline()))
    reader.start()
    reader.join(timeout)
    assert box.get("line"), f"no ready line; stderr: {process.stderr.read() if process.poll() is not None else ''}"
    return json.loads(box["line"])


def test_serve_process_answers_and_stops_gracefully_on_sigterm(tmp_path):
    cert_dir = sn.make_pki(tmp_path)
    data = sn.make_home(tmp_path / "de-home", "DE", seed=6)
    policy = '[policy.NL]\ndaily_quota = { finger = 100000 }\n'
    config = sn.write_config(tmp_path, "DE", cert_dir, policy=policy,
                             node_extra="grace_seconds = 20")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    process = subprocess.Popen([sys.executable, "-c", SERVE, str(config)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        ready = _read_ready_line(process)
        assert ready["partner"] == "DE" and ready["tls"] is True and ready["port"] > 0
        with sn.raw_channel(cert_dir, ready["port"], "DE") as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="prum.v1.FingerService"), timeout=10)
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            probes = [sn.finger_probe(data["masters"][i % len(data["masters"])], f"F-{i}", seed=i)
                      for i in range(QUERIES_IN_FLIGHT)]
            request = convert.request_to_proto("finger", sn.request_header(), probes)
            future = finger_pb2_grpc.FingerServiceStub(channel).SearchFinger.future(request,
                                                                                  timeout=60)
            time.sleep(0.5)                                  # the call is being searched ...
            assert not future.done()
            process.send_signal(signal.SIGTERM)              # ... when the node is told to stop
            reply = future.result()
        assert len(reply.answers) == QUERIES_IN_FLIGHT        # the call in flight was finished
        assert reply.answers[0].candidates[0].reference == "DE-FP-0000"
        assert process.wait(30) == 0
        log = process.stderr.read()
        assert "stopping" in log and "stopped" in log
        assert "numba threading layer omp" in log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
