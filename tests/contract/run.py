#!/usr/bin/env python3
"""Contract fuzzing: schemathesis against a live cdt-api, using the committed OpenAPI document.

Starts `cdt-api serve --demo` on a throwaway embedded PostgreSQL, signs in as the demo team leader,
viewer, officer and admin (in that order: officers and admins may disable the others), and runs
schemathesis once per role over every operation with a time bound and every check: it fails on any
5xx, any response that breaks its schema, any status the document does not list, a wrong content type
or headers, a method the document does not list that is not answered 405, invalid data accepted, and
schema-valid data refused for a rule outside the short list in tests/contract/hooks.py.

    python3 tests/contract/run.py --binary target/debug/cdt-api --seconds 60      # CI
    python3 tests/contract/run.py --binary target/release/cdt-api --seconds 900 \\
        --seed random                                                            # release check

Needs `schemathesis` (pip install -r tests/contract/requirements.txt) on PATH or --schemathesis.
Standard library only otherwise.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_PASSWORD = "Hoa ban nở trắng núi rừng Tây Bắc"
# In this order: officers may disable leaders and viewers, admins anyone.
ROLES = ["demo.leader", "demo.viewer", "demo.officer", "demo.admin"]

# Every schemathesis check, with schemathesis' own `positive_data_acceptance` replaced by
# `positive_data_acceptance_listed` (tests/contract/hooks.py): schema-valid data may be refused only for
# the listed rules no schema can state, each listed there with why.
CHECKS = ["all"]
EXCLUDED_CHECKS = ["positive_data_acceptance"]
HOOKS = os.path.join(ROOT, "tests", "contract", "hooks.py")
CONFIG = os.path.join(ROOT, "tests", "contract", "schemathesis.toml")

# Operations that end the fuzzer's own session: proven by tests/api/auth.rs instead.
EXCLUDED_OPERATIONS = ["logout", "change_my_password"]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(url, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read() or b"null")


def wait_ready(base, process, patience=120):
    deadline = time.time() + patience
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"cdt-api exited with {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"cdt-api not ready after {patience} s")


def summary_section(output, title):
    """The `  🚫 Kind: N` lines of a schemathesis summary section ("Failures:" or "Errors:")."""
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if line.strip() == title:
            section = []
            for entry in lines[index + 1:]:
                if not entry.strip():
                    break
                section.append(entry.strip())
            return section
    return []


def judge(code, output, base):
    """`passed`, or why not. A check failure always fails. An error fails too, except a schemathesis
    "Runtime Error" (a crash inside the tool or hypothesis, not an answer of the API) while the server
    is still healthy: that is reported and tolerated."""
    if code == 0:
        return "passed"
    failures = summary_section(output, "Failures:")
    if failures:
        return "failed: " + "; ".join(failures)
    errors = summary_section(output, "Errors:")
    if not errors:
        return f"failed: exit {code} without a summary"
    if not all("Runtime Error" in error for error in errors):
        return "failed: " + "; ".join(errors)
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
            healthy = response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        healthy = False
    if not healthy:
        return "failed: the server stopped answering /healthz"
    return "passed (schemathesis itself raised: " + "; ".join(errors) + "; the API answered every check)"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, "target/release/cdt-api"))
    parser.add_argument("--schemathesis", default=shutil.which("schemathesis") or "schemathesis")
    parser.add_argument("--seconds", type=int, default=60, help="time budget per role")
    parser.add_argument("--seed", default="20251129", help="hypothesis seed, or 'random'")
    parser.add_argument("--workers", default="2")
    parser.add_argument("--report-dir", default=None, help="keep schemathesis reports here")
    parser.add_argument("--roles", default=",".join(ROLES), help="comma-separated demo users, in order")
    parser.add_argument("--checks", default=",".join(CHECKS))
    parser.add_argument("--exclude-checks", default=",".join(EXCLUDED_CHECKS))
    parser.add_argument("--hooks", default=HOOKS, help="a schemathesis hooks file")
    parser.add_argument(
        "--python-client",
        default=None,
        help="the openapi-python-client command: first generate a client and drive it (python_client.py)",
    )
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="cdt-contract-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        {
            "CDT_DATA_DIR": data_dir,
            "BIND_ADDR": f"127.0.0.1:{port}",
            "DATABASE_URL": "",
            # The fuzzer sends thousands of requests per minute as one user.
            "RATE_LIMIT_PER_MINUTE": "1000000",
            "LOGIN_RATE_LIMIT_PER_MINUTE": "100000",
            # Every role signs in at the start: its token must outlive the runs before its own.
            "ACCESS_TOKEN_TTL_SECONDS": str(min(86_400, max(900, (args.seconds + 120) * len(args.roles.split(","))))),
            "RUST_LOG": "warn",
            # The webhook receiver check (webhook_receiver.py) listens on loopback.
            "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            "WEBHOOK_POLL_MS": "100",
        }
    )
    log_path = os.path.join(data_dir, "server.log")
    log = open(log_path, "w")
    server = subprocess.Popen([args.binary, "serve", "--demo"], env=env, stdout=log, stderr=log)
    failed = []
    try:
        wait_ready(base, server)
        if args.python_client:
            # The generator's own interpreter has the generated client's dependencies (httpx, attrs).
            python = os.path.join(os.path.dirname(args.python_client), "python")
            script = os.path.join(ROOT, "tests", "contract", "python_client.py")
            client = subprocess.run([python, script, base, ROLES[0], DEMO_PASSWORD, args.python_client])
            if client.returncode != 0:
                failed.append("python client")
            # A receiver on the Standard Webhooks reference library verifies a delivery.
            receiver = os.path.join(ROOT, "tests", "contract", "webhook_receiver.py")
            check = subprocess.run([python, receiver, base, "demo.admin", ROLES[0], DEMO_PASSWORD])
            if check.returncode != 0:
                failed.append("webhook receiver")
            # tuspy, the tus project's Python client, uploads, resumes and attaches evidence.
            tus = os.path.join(ROOT, "tests", "contract", "tus_client.py")
            check = subprocess.run([python, tus, base, ROLES[0], DEMO_PASSWORD])
            if check.returncode != 0:
                failed.append("tus client")
        # Every role signs in before any fuzzing: a run may lock another demo account by failing its
        # sign-in (the API answers a locked username 429), which is the server doing its job.
        tokens = {
            username: request(
                f"{base}/api/v1/auth/login", {"username": username, "password": DEMO_PASSWORD}
            )["access_token"]
            for username in args.roles.split(",")
        }
        for username, token in tokens.items():
            command = [
                args.schemathesis,
                "--config-file",
                CONFIG,
                "run",
                f"{base}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                args.checks,
                "--max-time",
                str(args.seconds),
                "--workers",
                args.workers,
                "--request-timeout",
                "20",
                "--suppress-health-check",
                "all",
                "--no-color",
            ]
            for operation in EXCLUDED_OPERATIONS:
                command += ["--exclude-operation-id", operation]
            if args.exclude_checks:
                command += ["--exclude-checks", args.exclude_checks]
            if args.seed != "random":
                command += ["--seed", args.seed]
            if args.report_dir:
                command += [
                    "--report",
                    "junit",
                    "--report-dir",
                    os.path.join(os.path.abspath(args.report_dir), username),
                ]
            print(f"== schemathesis as {username} ({args.seconds} s)", flush=True)
            started = time.time()
            # From the throwaway directory: schemathesis keeps a cache (.schemathesis/) where it runs.
            run_env = dict(os.environ)
            if args.hooks:
                run_env["SCHEMATHESIS_HOOKS"] = os.path.abspath(args.hooks)
            run = subprocess.run(
                command, cwd=data_dir, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            print(run.stdout, flush=True)
            verdict = judge(run.returncode, run.stdout, base)
            print(f"== {username}: exit {run.returncode} after {time.time() - started:.0f} s: {verdict}", flush=True)
            if not verdict.startswith("passed"):
                failed.append(username)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if failed:
            with open(log_path) as handle:
                tail = handle.read()[-4000:]
            print(f"-- server log (last 4000 characters):\n{tail}")
        shutil.rmtree(data_dir, ignore_errors=True)
    if failed:
        print(f"contract fuzzing failed for: {', '.join(failed)}")
        return 1
    print("contract fuzzing passed for every role")
    return 0


if __name__ == "__main__":
    sys.exit(main())
