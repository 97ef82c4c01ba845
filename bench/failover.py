#!/usr/bin/env python3
"""Failover drill: cdt-api on a pg_auto_failover cluster (a monitor, a primary and a synchronous standby,
all on loopback), four clients logging training sessions with client ids and retries, then `kill -9` of the
primary's postmaster. Checks that no acknowledged write is lost or duplicated, that writes succeed again
within 15 s, and that the API process was never restarted; prints the figures (time without a primary,
requests answered 503, acknowledged writes checked) as a Markdown table.

    python3 bench/failover.py --binary target/release/cdt-api [--after-kill 25]

Needs pg_autoctl (Debian: pg-auto-failover-cli postgresql-15-auto-failover) and PostgreSQL 15's server
binaries. As root, PostgreSQL and pg_autoctl run as the `postgres` user. Everything listens on 127.0.0.1 and
is stopped (and its directory deleted) at the end. Exit status 0 only when every check holds.
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
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import date

PASSWORD = "Hoa ban nở trắng núi rừng Tây Bắc"  # the demo logins' password (src/seed/demo.rs)
CLIENTS = 4
RECOVERY_GOAL_S = 15.0


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(command):
    """`command` run as the postgres system user when we are root (PostgreSQL refuses root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + command
    return command


class Cluster:
    """A pg_auto_failover formation: monitor, node1 (first primary), node2 (synchronous standby)."""

    def __init__(self, bindir):
        self.dir = tempfile.mkdtemp(prefix="cdt-failover-")
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.env = dict(os.environ, PG_CONFIG=os.path.join(bindir, "pg_config"),
                        PATH=bindir + os.pathsep + os.environ["PATH"], XDG_CONFIG_HOME=self.dir + "/config",
                        XDG_DATA_HOME=self.dir + "/data", XDG_RUNTIME_DIR=self.dir + "/run", PGHOST="127.0.0.1")
        self.processes = []
        self.ports = {"monitor": free_port(), "node1": free_port(), "node2": free_port()}
        self.monitor_uri = f"postgres://autoctl_node@127.0.0.1:{self.ports['monitor']}/pg_auto_failover?sslmode=disable"

    def pgdata(self, name):
        return os.path.join(self.dir, name)

    def autoctl(self, *args, check=True):
        done = subprocess.run(as_postgres(["pg_autoctl", *args]), env=self.env, capture_output=True, text=True)
        if check and done.returncode != 0:
            raise SystemExit(f"pg_autoctl {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self, name, create):
        path = os.path.join(self.dir, f"{name}.log")
        process = subprocess.Popen(as_postgres(["pg_autoctl", *create, "--run"]), env=self.env,
                                   stdout=open(path, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)

    def create(self):
        common = ["--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl"]
        self.start("monitor", ["create", "monitor", "--pgdata", self.pgdata("monitor"),
                               "--pgport", str(self.ports["monitor"]), *common])
        self.wait_for(lambda: self.query(self.ports["monitor"], "pg_auto_failover", "SELECT 1") == "1", 60,
                      "the monitor")
        for name in ("node1", "node2"):
            self.start(name, ["create", "postgres", "--pgdata", self.pgdata(name), "--pgport", str(self.ports[name]),
                              "--monitor", self.monitor_uri, "--dbname", "cdt", "--name", name,
                              "--replication-quorum", "true", *common])
            # The first node is `single` until a standby joins; then `primary` and `secondary`.
            wanted = "single" if name == "node1" else "secondary"
            self.wait_for(lambda: self.state(name) == wanted, 120, f"{name} as {wanted}")
        self.wait_for(lambda: self.state("node1") == "primary", 60, "node1 as primary")
        # Fail over within seconds (the defaults wait 20 s and more before calling a node unhealthy).
        for setting, value in (("pgautofailover.health_check_period", "1000"),
                               ("pgautofailover.health_check_timeout", "1000"),
                               ("pgautofailover.health_check_max_retries", "1"),
                               ("pgautofailover.health_check_retry_delay", "500"),
                               ("pgautofailover.node_considered_unhealthy_timeout", "3000"),
                               # How long the monitor waits for an unreachable old primary to demote itself
                               # before promoting the standby (default 30 s).
                               ("pgautofailover.primary_demote_timeout", "3000")):
            self.query(self.ports["monitor"], "pg_auto_failover", f"ALTER SYSTEM SET {setting} = {value}")
        self.query(self.ports["monitor"], "pg_auto_failover", "SELECT pg_reload_conf()")

    def query(self, port, database, sql, user="postgres"):
        done = subprocess.run(["psql", "-X", "-At", "-h", "127.0.0.1", "-p", str(port), "-U", user, "-d", database,
                               "-c", sql], capture_output=True, text=True, env=dict(os.environ, PGCONNECT_TIMEOUT="2"))
        return done.stdout.strip() if done.returncode == 0 else None

    def state(self, name):
        return self.query(self.ports["monitor"], "pg_auto_failover",
                          f"SELECT reportedstate FROM pgautofailover.node WHERE nodename = '{name}'")

    def primary(self):
        for name in ("node1", "node2"):
            if self.query(self.ports[name], "cdt", "SELECT NOT pg_is_in_recovery()") == "t":
                return name
        return None

    @staticmethod
    def wait_for(check, seconds, what):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if check():
                return
            time.sleep(0.5)
        raise SystemExit(f"timed out waiting for {what}")

    def postmaster_pid(self, name):
        with open(os.path.join(self.pgdata(name), "postmaster.pid")) as f:
            return int(f.readline())

    def database_url(self):
        hosts = ",".join(f"127.0.0.1:{self.ports[n]}" for n in ("node1", "node2"))
        return f"postgres://postgres@{hosts}/cdt?target_session_attrs=read-write&connect_timeout=2"

    def stop(self):
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        for name in ("node1", "node2", "monitor"):
            subprocess.run(as_postgres([os.path.join(self.env["PATH"].split(os.pathsep)[0], "pg_ctl"), "-D",
                                        self.pgdata(name), "-m", "immediate", "stop"]),
                           capture_output=True)
        if os.environ.get("KEEP_FAILOVER_DIR"):
            log(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class Api:
    def __init__(self, binary, database_url):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, DATABASE_URL=database_url, BIND_ADDR=f"127.0.0.1:{self.port}",
                        RUST_LOG="warn", RATE_LIMIT_PER_MINUTE="1000000", BACKUP_SCHEDULE="off",
                        DB_POOL_TIMEOUT_MS="1500", PASSWORD_HASH_MEMORY_KIB="1024", PASSWORD_HASH_ITERATIONS="1")
        self.env.pop("READ_DATABASE_URL", None)
        self.binary = binary
        self.data_dir = tempfile.mkdtemp(prefix="cdt-failover-api-")
        self.env["CDT_DATA_DIR"] = self.data_dir

    def seed(self):
        done = subprocess.run([self.binary, "seed", "demo"], env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"seed demo failed: {done.stderr[-2000:]}")

    def start(self):
        self.log = open(os.path.join(self.data_dir, "server.log"), "w")
        self.process = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        Cluster.wait_for(lambda: self.request("GET", "/readyz")[0] == 200, 120, "the API")

    def request(self, method, path, token=None, body=None, headers=None, timeout=10):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, method=method, data=data)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            return error.code, error.read()[:300]
        except OSError as error:
            return None, str(error)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.data_dir, ignore_errors=True)


class Writer(threading.Thread):
    """Logs sessions one after another; each has its own client id and Idempotency-Key, retried (every
    200 ms, honouring nothing else) until the server acknowledges it (201, or 200 for a replay)."""

    def __init__(self, api, token, team_id, stop, number):
        super().__init__(daemon=True)
        self.api, self.token, self.team_id, self.stop_flag, self.number = api, token, team_id, stop, number
        self.acknowledged = []  # (id, time acknowledged)
        self.answers = {}  # status -> count (None: no answer)
        self.attempted = 0

    def run(self):
        while not self.stop_flag.is_set():
            session_id, key = str(uuid.uuid4()), str(uuid.uuid4())
            body = {"id": session_id, "team_id": self.team_id, "kind": "training",
                    "held_on": date.today().isoformat(), "duration_minutes": 60, "format": "in_person",
                    "topics": ["vneid"], "participants_total": 10, "participants_female": 5,
                    "participants_ethnic_minority": 6, "participants_elderly": 1, "households_reached": 8,
                    "notes": f"failover drill, writer {self.number}"}
            self.attempted += 1
            while True:
                status, answer = self.api.request("POST", "/api/v1/training-sessions", self.token, body,
                                                  {"Idempotency-Key": key}, timeout=5)
                label = status
                if status == 409:
                    # The key's first attempt was cut off with the database; the server settles the key
                    # when the database is back (`idempotency_in_progress`), and the retry then re-runs.
                    code = json.loads(answer).get("code") if isinstance(answer, bytes) else None
                    label = f"409 {code}"
                self.answers[label] = self.answers.get(label, 0) + 1
                if status in (200, 201):
                    self.acknowledged.append((session_id, time.time()))
                    break
                if status not in (None, 503, 409) and status < 500:
                    raise SystemExit(f"writer {self.number}: unexpected {status}")
                if self.stop_flag.is_set() and status is None:
                    break
                time.sleep(0.2)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="target/release/cdt-api")
    parser.add_argument("--bindir", default=None, help="PostgreSQL 15 server binaries (default: pg_config --bindir)")
    parser.add_argument("--before-kill", type=float, default=5, help="seconds of writes before the kill")
    parser.add_argument("--after-kill", type=float, default=25, help="seconds of writes after the kill")
    args = parser.parse_args()
    for tool in ("pg_autoctl", "psql"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing (Debian: apt install pg-auto-failover-cli postgresql-15-auto-failover)")
    bindir = args.bindir or subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()

    cluster = Cluster(bindir)
    api = None
    failures = []
    try:
        log(f"pg_auto_failover formation in {cluster.dir}: monitor, node1 (primary), node2 (synchronous standby)")
        cluster.create()
        sync = cluster.query(cluster.ports["node1"], "cdt", "SHOW synchronous_standby_names")
        log(f"synchronous_standby_names on node1: {sync}")
        api = Api(args.binary, cluster.database_url())
        log("loading the demo data through DATABASE_URL (multi-host, target_session_attrs=read-write)")
        api.seed()
        api.start()
        api_pid = api.process.pid
        status, session = api.request("POST", "/api/v1/auth/login", body={"username": "demo.leader", "password": PASSWORD})
        if status != 200:
            raise SystemExit(f"login: {status} {session}")
        token, team_id = session["access_token"], session["user"]["team_id"]

        stop = threading.Event()
        writers = [Writer(api, token, team_id, stop, n) for n in range(CLIENTS)]
        for w in writers:
            w.start()
        time.sleep(args.before_kill)
        victim = cluster.primary()
        pid = cluster.postmaster_pid(victim)
        before = sum(len(w.acknowledged) for w in writers)
        killed_at = time.time()
        os.kill(pid, signal.SIGKILL)
        log(f"kill -9 of {victim}'s postmaster (pid {pid}) after {before} acknowledged writes")
        time.sleep(args.after_kill)
        stop.set()
        for w in writers:
            w.join(timeout=30)

        acknowledged = [a for w in writers for a in w.acknowledged]
        # Backends orphaned by the kill may still finish the commits in flight; the outage is the longest
        # stretch without an acknowledged write that ends after the kill.
        times = sorted(t for _, t in acknowledged)
        gaps = [(b - a, b) for a, b in zip(times, times[1:]) if b > killed_at]
        longest, resumed = max(gaps) if gaps else (None, None)
        first_after = resumed - killed_at if resumed else None
        answers = {}
        for w in writers:
            for status, count in w.answers.items():
                answers[status] = answers.get(status, 0) + count
        new_primary = cluster.primary()
        rows = cluster.query(cluster.ports[new_primary], "cdt",
                             "SELECT id FROM training_sessions WHERE notes LIKE 'failover drill, writer %'") or ""
        stored = rows.split()
        stored_set = set(stored)
        lost = [i for i, _ in acknowledged if i not in stored_set]
        duplicates = len(stored) - len(stored_set)
        api_alive = api.process.poll() is None and api.process.pid == api_pid
        states = {n: cluster.state(n) for n in ("node1", "node2")}

        print("| figure | value | goal |")
        print("|---|---|---|")
        print(f"| primary killed | {victim} (`kill -9` of the postmaster) | |")
        print(f"| primary after | {new_primary} (states: {', '.join(f'{k} {v}' for k, v in states.items())}) | |")
        print(f"| synchronous standby names | `{sync}` | a synchronous standby |")
        if first_after is None:
            print(f"| writes succeed again | never | ≤ {RECOVERY_GOAL_S:.0f} s after the kill |")
        else:
            print(f"| time without an acknowledged write (no primary) | {longest:.1f} s | |")
            print(f"| writes succeed again | {first_after:.1f} s after the kill | ≤ {RECOVERY_GOAL_S:.0f} s |")
        print(f"| answers during the run | " + ", ".join(f"{k if k is not None else 'no answer'}: {v}"
                                                         for k, v in sorted(answers.items(), key=lambda kv: str(kv[0])))
              + " | 503 (or 409 `idempotency_in_progress` for a retry of a cut-off request) only while no primary |")
        print(f"| acknowledged writes checked | {len(acknowledged)} ({before} before the kill) | |")
        print(f"| acknowledged writes lost | {len(lost)} | 0 |")
        print(f"| duplicated writes | {duplicates} | 0 |")
        print(f"| API process restarted | {'no' if api_alive else 'yes'} | no |")
        if first_after is None or first_after > RECOVERY_GOAL_S:
            failures.append("writes did not succeed again within 15 s")
        if lost:
            failures.append(f"{len(lost)} acknowledged writes lost")
        if duplicates:
            failures.append(f"{duplicates} duplicated writes")
        if not api_alive:
            failures.append("the API process did not survive")
        unexpected = {k: v for k, v in answers.items()
                      if k not in (200, 201, 503, None, "409 idempotency_in_progress")}
        if unexpected:
            failures.append(f"answers other than 201/200/503: {unexpected}")
    finally:
        if api:
            api.stop()
        cluster.stop()
    if failures:
        raise SystemExit("FAILED: " + "; ".join(failures))
    log("every check held")


if __name__ == "__main__":
    main()
