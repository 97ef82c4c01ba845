#!/usr/bin/env python3
"""cdt-api benchmark runner.

Seeds a data set (`cdt-api seed scale`) once per scale, starts the release server on it (embedded
PostgreSQL, loopback only), and measures each workload with wrk for a fixed time and a bounded request
count; beside each, the very SQL the endpoint ran (captured from PostgreSQL's statement log for one request)
replayed by pgbench with prepared statements and the same client count: the database's own ceiling on the
same machine in the same run. Prints a table and writes it to bench/RESULTS.md (unless --smoke).

Needs: python3 (standard library only), wrk and pgbench (Debian: apt install wrk postgresql), a built
binary (cargo build --release). Run from the repository root:

    python3 bench/run.py --scale sonla              # 2,448 teams, 5 years
    python3 bench/run.py --scale national           # 80,000 teams in 34 provinces
    python3 bench/run.py --smoke                    # every workload for a few seconds at tiny scale (CI)

Data sets are kept in bench/data/<scale> (git-ignored) and reused; --reseed loads them again.
"""

import argparse
import itertools
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import date, datetime, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "Hoa ban nở trắng núi rừng Tây Bắc"

SCALES = {
    # name: (teams, years, provinces, sessions per team-year, reach per team-year)
    "tiny": (150, 1, 1, 49, 122),
    "sonla": (2448, 5, 1, 49, 122),
    # ~19.6 M sessions; reach activities at a fifth of Sơn La's rate keep the load under an hour here.
    "national": (80000, 5, 34, 49, 25),
}


def log(message):
    print(message, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The release server on a seeded data directory."""

    def __init__(self, binary, data_dir, extra_env=None):
        self.binary = binary
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        for name in ("DATABASE_URL", "READ_DATABASE_URL"):
            env.pop(name, None)
        env.update(
            CDT_DATA_DIR=data_dir,
            BIND_ADDR=f"127.0.0.1:{self.port}",
            RATE_LIMIT_PER_MINUTE="1000000",
            # A backup or archived WAL would weigh on the figures (and the archive would grow with every
            # run of a kept data set): the benchmark measures the API without them.
            BACKUP_SCHEDULE="off",
            WAL_ARCHIVE="off",
            LOGIN_RATE_LIMIT_PER_MINUTE="100000",
            RUST_LOG="warn",
        )
        env.update(extra_env or {})
        self.log_path = os.path.join(data_dir, "bench-server.log")
        self.process = subprocess.Popen(
            [binary, "serve"], env=env, stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT
        )
        deadline = time.time() + 180
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited: see {self.log_path}")
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.3)
        else:
            raise SystemExit("server did not become ready in 180 s")
        pgdata = os.path.join(data_dir, "postgres")
        with open(os.path.join(pgdata, "postmaster.pid")) as f:
            self.pg_port = f.read().split("\n")[3].strip()
        with open(os.path.join(data_dir, "postgres.password")) as f:
            self.pg_password = f.read().strip()
        self.pg_log = os.path.join(pgdata, "server.log")

    def request(self, method, path, token=None, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, method=method, data=data)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            return error.code, error.read()[:500]

    def login(self, username):
        status, body = self.request("POST", "/api/v1/auth/login", body={"username": username, "password": PASSWORD})
        if status != 200:
            raise SystemExit(f"login {username}: {status} {body}")
        return body["access_token"]

    def pg_env(self):
        return dict(os.environ, PGPASSWORD=self.pg_password, PGHOST="127.0.0.1", PGPORT=self.pg_port,
                    PGUSER="cdt", PGDATABASE="cdt")

    def sql(self, statement):
        # On standard input: a statement may be longer than a command line.
        done = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At"], input=statement, env=self.pg_env(),
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"psql: {done.stderr}")
        return done.stdout.strip()

    def reset_peak_rss(self):
        try:
            with open(f"/proc/{self.process.pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass

    def peak_rss_mb(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def seed(binary, data_dir, scale, reseed, years=None):
    marker = os.path.join(data_dir, "scale-report.txt")
    if os.path.exists(marker) and not reseed:
        return open(marker).read()
    if os.path.exists(data_dir):
        shutil.rmtree(data_dir)
    os.makedirs(data_dir)
    teams, default_years, provinces, sessions, reach = SCALES[scale]
    years = years or default_years
    log(f"seeding {scale}: {teams} teams, {years} years, {provinces} provinces (once; kept in {data_dir})")
    env = dict(os.environ, CDT_DATA_DIR=data_dir, RUST_LOG="warn", WAL_ARCHIVE="off", BACKUP_SCHEDULE="off")
    env.pop("DATABASE_URL", None)
    started = time.time()
    done = subprocess.run(
        [binary, "seed", "scale", "--teams", str(teams), "--years", str(years), "--provinces", str(provinces),
         "--sessions-per-team-year", str(sessions), "--reach-per-team-year", str(reach)],
        env=env, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"seed failed:\n{done.stderr}")
    report = "\n".join(line for line in done.stderr.splitlines() if not line.startswith("logins:"))
    report += f"\n  (wall clock including PostgreSQL start and migrations: {time.time() - started:.0f} s)\n"
    with open(marker, "w") as f:
        f.write(report)
    return report


# --- workloads ------------------------------------------------------------------------------------

class Workload:
    def __init__(self, name, label, method, paths, token, body=None, expect=200, idempotent_key=False):
        self.name, self.label, self.method, self.paths = name, label, method, paths
        self.token, self.body, self.expect, self.idempotent_key = token, body, expect, idempotent_key


LUA = r"""
local paths = {%(paths)s}
local method = "%(method)s"
local body = %(body)s
local token = "%(token)s"
local expect = %(expect)d
local max_requests = %(max_requests)d
local key_prefix = "%(key_prefix)s"
-- globals: done() reads them from every thread with thread:get()
counter, seen, unexpected, thread_id = 0, 0, 0, 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  local headers = { ["Content-Type"] = "application/json", ["Accept-Encoding"] = "gzip" }
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  if key_prefix ~= "" then
    headers["Idempotency-Key"] = string.format("%%s-%%d-%%d", key_prefix, thread_id, counter)
  end
  return wrk.format(method, paths[(counter %% #paths) + 1], headers, body)
end

function response(status, headers, body)
  seen = seen + 1
  if status ~= expect then
    unexpected = unexpected + 1
    if unexpected <= 3 then io.stderr:write("unexpected status " .. status .. ": " .. string.sub(body or "", 1, 200) .. "\n") end
  end
  if seen >= max_requests then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local unexpected_total = 0
  for _, thread in ipairs(threads) do unexpected_total = unexpected_total + thread:get("unexpected") end
  local e = summary.errors
  io.write(string.format(
    "RESULT {\"requests\": %%d, \"duration_us\": %%d, \"p50_us\": %%d, \"p99_us\": %%d, \"p999_us\": %%d, " ..
    "\"max_us\": %%d, \"socket_errors\": %%d, \"status_errors\": %%d, \"unexpected\": %%d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    latency.max, e.connect + e.read + e.write + e.timeout, e.status, unexpected_total))
end
"""


def lua_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_lua(workload, threads, max_requests, workdir):
    script = os.path.join(workdir, f"{workload.name}.lua")
    with open(script, "w") as f:
        f.write(LUA % {
            "paths": ", ".join(lua_string(p) for p in workload.paths),
            "method": workload.method,
            "body": lua_string(json.dumps(workload.body)) if workload.body is not None else "nil",
            "token": workload.token or "",
            "expect": workload.expect,
            "max_requests": max(1, max_requests // threads),
            "key_prefix": f"bench-{uuid.uuid4().hex[:12]}" if workload.idempotent_key else "",
        })
    return script


def run_wrk(server, workload, seconds, connections, threads, max_requests, workdir):
    script = write_lua(workload, threads, max_requests, workdir)
    done = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
         "-s", script, server.base],
        capture_output=True, text=True)
    match = re.search(r"^RESULT (\{.*\})$", done.stdout, re.M)
    if done.returncode != 0 or not match:
        raise SystemExit(f"wrk failed for {workload.name}:\n{done.stdout}\n{done.stderr}")
    if done.stderr.strip():
        log(done.stderr.strip())
    result = json.loads(match.group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = result["socket_errors"] + result["unexpected"]
    return result


# --- the endpoint's SQL, captured and replayed by pgbench -------------------------------------------

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")


def parse_parameters(detail):
    """`$1 = 'a''b', $2 = NULL` -> {1: "'a''b'", 2: "NULL"} (values stay SQL literals)."""
    values, i = {}, 0
    while True:
        match = re.compile(r"\s*\$(\d+) = ").match(detail, i)
        if not match:
            return values
        number, i = int(match.group(1)), match.end()
        if detail.startswith("NULL", i):
            values[number], i = "NULL", i + 4
        else:
            j = i + 1
            while True:
                j = detail.index("'", j)
                if detail.startswith("''", j):
                    j += 2
                    continue
                break
            values[number], i = detail[i:j + 1], j + 1
        if detail.startswith(",", i):
            i += 1


# Statements of the server's own background jobs (the webhook dispatcher and its workers, the hourly
# idempotency purge, the backup schedule reading backup_runs, a backup), which may run on another pooled connection while a workload's request is captured.
BACKGROUND_RE = re.compile(r'webhook_|backup_runs|replication_slot|pg_export_snapshot|pg_create_restore_point|'
                           r'DELETE FROM "idempotency_keys" WHERE \(?"idempotency_keys"\."created_at" <')


def captured_statements(log_text, name):
    """The statements between the markers of workload `name`, with their parameters inlined, in log order.
    Each backend's statements are grouped into transactions (BEGIN to COMMIT or ROLLBACK, or one statement);
    a transaction with a statement of a background job is left out, so the script is the request's alone."""
    start = log_text.find(f"BENCH-MARK-START {name}'")
    end = log_text.rfind("\n", 0, log_text.find(f"BENCH-MARK-END {name}'", start))
    entries = re.split(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \w+ \[\d+\] )", log_text[start:end])
    statements = []  # [sql, parameters, pid, transaction number]
    open_transaction, numbers = {}, itertools.count()
    for entry in entries[1:]:
        prefix = re.match(r"^\S+ \S+ \S+ \[(\d+)\] ", entry)
        if not prefix:
            continue
        pid, body = prefix.group(1), entry[prefix.end():]
        if body.startswith("LOG:  statement: "):
            sql = body[len("LOG:  statement: "):].strip()
        elif body.startswith("LOG:  execute "):
            sql = body.split(": ", 2)[2].strip()
        elif body.startswith("DETAIL:  parameters: ") and statements and statements[-1][2] == pid:
            statements[-1][1] = parse_parameters(body[len("DETAIL:  parameters: "):])
            continue
        else:
            continue
        word = sql.split(None, 1)[0].upper() if sql else ""
        if word in ("BEGIN", "START"):
            open_transaction[pid] = next(numbers)
        number = open_transaction.get(pid)
        statements.append([sql, {}, pid, next(numbers) if number is None else number])
        if word in ("COMMIT", "ROLLBACK", "END"):
            open_transaction.pop(pid, None)
    background = {(s[2], s[3]) for s in statements if BACKGROUND_RE.search(s[0])}
    return [[sql, parameters] for sql, parameters, pid, number in statements if (pid, number) not in background]


def pgbench_script(statements, since_ms, known):
    """A pgbench script of `statements` and the values of its variables. Each parameter stays a bind
    parameter (a pgbench variable, sent as a parameter of the prepared statement, as the API's driver
    does), so PostgreSQL plans and caches both alike. Values the request created (time-ordered ids made
    after `since_ms`, the `known` idempotency keys, 32-byte hashes) become fresh values per transaction,
    derived from a random :k, so replays insert new rows as the API does. NULLs and values too long for a
    command-line argument are inlined as literals."""
    fresh, variables = {}, {}

    def parameter(value):
        raw = value[1:-1].replace("''", "'") if value.startswith("'") else None
        if raw is None:
            return value
        if UUID_RE.match(raw) and int(raw.replace("-", "")[:12], 16) >= since_ms or raw in known:
            number = fresh.setdefault(raw, len(fresh) + 1)
            return f"md5(:k || '-{number}')::uuid" if raw not in known else f"md5(:k || '-{number}')"
        if re.fullmatch(r"\\x[0-9a-f]{64}", raw):
            number = fresh.setdefault(raw, len(fresh) + 1)
            return f"sha256((:k || '-{number}')::bytea)"
        if len(raw) > 60000 or "\0" in raw:
            return value
        name = f"v{len(variables) + 1}"
        variables[name] = raw
        return f":{name}"

    lines = ["\\set k random(1, 9000000000000000000)"]
    for sql, parameters in statements:
        if "BENCH-MARK" in sql:
            continue
        text = re.sub(r"\$(\d+)", lambda m: parameter(parameters.get(int(m.group(1)), m.group(0))), sql)
        lines.append(text.rstrip(";") + ";")
    return "\n".join(lines) + "\n", variables


def capture(server, workloads, workdir):
    """Runs each workload once with statement logging on and writes a pgbench script per workload."""
    server.sql("ALTER SYSTEM SET log_statement = 'all'")
    server.sql("SELECT pg_reload_conf()")
    time.sleep(0.5)
    since_ms = int(time.time() * 1000) - 1000
    keys = []
    try:
        for workload in workloads:  # warm caches first, as the measured run will find them
            send_once(server, workload, keys)
        offset = os.path.getsize(server.pg_log)
        for workload in workloads:
            server.sql(f"SELECT 'BENCH-MARK-START {workload.name}'")
            send_once(server, workload, keys)
            server.sql(f"SELECT 'BENCH-MARK-END {workload.name}'")
    finally:
        server.sql("ALTER SYSTEM RESET log_statement")
        server.sql("SELECT pg_reload_conf()")
    with open(server.pg_log, errors="replace") as f:
        f.seek(offset)
        text = f.read()
    scripts = {}
    for workload in workloads:
        statements = captured_statements(text, workload.name)
        path = os.path.join(workdir, f"{workload.name}.sql")
        script, variables = pgbench_script(statements, since_ms, set(keys))
        with open(path, "w") as f:
            f.write(script)
        with open(path[:-4] + ".vars", "w") as f:  # for replaying by hand: pgbench -D name=value ...
            f.write("".join(f"{name}={value}\n" for name, value in variables.items()))
        scripts[workload.name] = (path, variables, len([s for s in statements if "BENCH-MARK" not in s[0]]))
    return scripts


def send_once(server, workload, keys):
    headers = {}
    if workload.idempotent_key:
        keys.append(str(uuid.uuid4()))
        headers["Idempotency-Key"] = keys[-1]
    status, body = server.request(workload.method, workload.paths[0], workload.token, workload.body, headers)
    if status != workload.expect:
        raise SystemExit(f"{workload.name}: expected {workload.expect}, got {status}: {body}")


def run_pgbench(server, script, variables, seconds, clients, threads):
    command = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(threads), "-T", str(seconds),
               "-f", script]
    for name, value in variables.items():
        command += ["-D", f"{name}={value}"]
    done = subprocess.run(command, env=server.pg_env(), capture_output=True, text=True)
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if done.returncode != 0 or not match:
        raise SystemExit(f"pgbench failed on {script}:\n{done.stdout}\n{done.stderr[-2000:]}")
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    return {"tps": float(match.group(1)), "failed": int(failed.group(1)) if failed else 0,
            "latency_ms": float(latency.group(1)) if latency else float("nan")}


# --- report ---------------------------------------------------------------------------------------

def machine():
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
            cpu = f"{names[0]} x {len(names)}" if names else cpu
    except OSError:
        pass
    memory = "?"
    try:
        with open("/proc/meminfo") as f:
            memory = f"{int(f.readline().split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    pg = subprocess.run(["pgbench", "--version"], capture_output=True, text=True).stdout.strip()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()
    return (f"{cpu}, {memory} RAM, {platform.system()} {platform.release()}; {pg}; "
            f"{wrk_version[0].split(' Copyright')[0] if wrk_version else 'wrk'}; load generator, API and PostgreSQL share the machine")


def table(rows):
    header = ("| workload | conns | requests | req/s | p50 ms | p99 ms | p99.9 ms | errors | peak RSS MB "
              "| SQL stmts | pgbench tps | API/pgbench |")
    lines = [header, "|" + "---|" * 12]
    for r in rows:
        ratio = f"{r['rps'] / r['tps']:.2f}" if r.get("tps") else "–"
        lines.append(
            f"| {r['label']} | {r['connections']} | {r['requests']} | {r['rps']:.0f} | {r['p50_us'] / 1000:.1f} "
            f"| {r['p99_us'] / 1000:.1f} | {r['p999_us'] / 1000:.1f} | {r['errors']} | {r['rss']:.0f} "
            f"| {r.get('statements', '–')} | {r.get('tps', 0):.0f} | {ratio} |")
    return "\n".join(lines)


def goals(rows, scale):
    by = {r["name"]: r for r in rows}
    out = []

    def check(ok, text):
        out.append(f"- {'met' if ok else 'MISSED'}: {text}")

    for name in ("team", "teams"):
        if name in by and by[name].get("tps"):
            ratio = by[name]["rps"] / by[name]["tps"]
            check(ratio >= 0.6, f"{by[name]['label']}: {ratio:.2f} of its SQL's pgbench ceiling (goal ≥ 0.6)")
    if "session" in by and by["session"].get("tps"):
        ratio = by["session"]["rps"] / by["session"]["tps"]
        check(ratio >= 0.5, f"session write: {ratio:.2f} of its transaction's ceiling (goal ≥ 0.5)")
    if "summary" in by:
        p99 = by["summary"]["p99_us"] / 1000
        check(p99 < 50, f"province summary p99 {p99:.1f} ms at {scale} scale (goal < 50 ms at national scale)")
    for name in ("search_teams", "search_people"):
        if name in by:
            p99 = by[name]["p99_us"] / 1000
            check(p99 < 20, f"{by[name]['label']} p99 {p99:.1f} ms at {scale} scale (goal < 20 ms at national scale)")
    if "team" in by and "team_storm" in by:
        quiet, storm = by["team"]["p99_us"], by["team_storm"]["p99_us"]
        check(storm <= 2 * quiet, f"team read p99 during a login storm {storm / 1000:.1f} ms vs "
                                  f"{quiet / 1000:.1f} ms quiet (goal ≤ 2x)")
    peak = max(r["rss"] for r in rows)
    check(peak < 150, f"server peak RSS {peak:.0f} MB (goal < 150 MB)")
    errors = sum(r["errors"] for r in rows)
    check(errors == 0, f"{errors} errors (goal: none)")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="sonla")
    parser.add_argument("--smoke", action="store_true", help="tiny scale, 2 s per workload, no RESULTS.md")
    parser.add_argument("--seconds", type=int, default=20, help="duration of each workload")
    parser.add_argument("--max-requests", type=int, default=200000, help="request bound of each workload")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections = pgbench clients")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads = pgbench threads")
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "cdt-api"))
    parser.add_argument("--data-dir", help="default: bench/data/<scale>")
    parser.add_argument("--reseed", action="store_true", help="load the data set again")
    parser.add_argument("--seed-only", action="store_true", help="load the data set (if needed) and stop")
    parser.add_argument("--years", type=int, help="years of activity to load (default: the scale's)")
    parser.add_argument("--only", help="comma-separated workload names")
    parser.add_argument("--bulk-only", action="store_true",
                        help="only the sign-off bulk requests (verify 5,000 records, submit and accept a month)")
    parser.add_argument("--webhooks-only", action="store_true",
                        help="only the webhook figures (session writes with and without subscriptions, delivery rate)")
    parser.add_argument("--spreadsheets-only", action="store_true",
                        help="only the spreadsheet figures (team export and member import as XLSX beside CSV, "
                             "server RSS while exporting 100,000 sessions)")
    parser.add_argument("--uploads-only", action="store_true",
                        help="only the upload figures (a 15 MiB upload beside a plain copy of the same bytes, "
                             "server RSS while ten 15 MiB uploads run at once)")
    parser.add_argument("--output", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    args = parser.parse_args()
    if args.smoke:
        args.scale, args.seconds, args.max_requests = "tiny", 2, 2000
    for tool in ("wrk", "pgbench", "psql"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed (Debian: apt install wrk postgresql)")
    if not os.path.exists(args.binary):
        raise SystemExit(f"{args.binary} is missing: cargo build --release (or pass --binary)")
    data_dir = os.path.abspath(args.data_dir or os.path.join(ROOT, "bench", "data", args.scale))
    load_report = seed(args.binary, data_dir, args.scale, args.reseed, args.years)
    if args.seed_only:
        print(load_report)
        return

    # The webhook figures deliver to a receiver on loopback.
    server = Server(args.binary, data_dir, {"WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
                                            "WEBHOOK_POLL_MS": os.environ.get("WEBHOOK_POLL_MS", "500")})
    workdir = tempfile.mkdtemp(prefix="cdt-bench-")
    rows, bulk, hooks, sheets, uploads = [], [], None, None, None
    only_one = args.bulk_only or args.webhooks_only or args.spreadsheets_only or args.uploads_only
    try:
        if not only_one:
            rows = measure(server, args, workdir)
        if args.smoke or args.bulk_only or not (args.only or only_one):
            bulk = bulk_operations(server, args)
        if args.smoke or args.webhooks_only or not (args.only or only_one):
            hooks = webhook_workloads(server, args, workdir)
        if args.smoke or args.spreadsheets_only or not (args.only or only_one):
            sheets = spreadsheet_workloads(server, args)
        if args.smoke or args.uploads_only or not (args.only or only_one):
            uploads = upload_workloads(server, args, data_dir)
    finally:
        server.stop()
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    counts = f"{args.connections} connections, {args.threads} wrk threads, {args.seconds} s or " \
             f"{args.max_requests} requests per workload"
    binary = os.path.relpath(args.binary, ROOT)
    if rows:
        text = (f"## {args.scale} scale, {started}\n\n{machine()}\n\n{counts}; binary {binary}"
                f"\n\nData set load:\n\n```\n{load_report.strip()}\n```\n\n{table(rows)}\n\n"
                f"{goals(rows, args.scale)}\n")
        print(text)
        log(f"pgbench scripts (the captured SQL): {workdir}")
        if not args.smoke:
            write_results(args.output, f"{args.scale} scale", text)
    if bulk:
        text = (f"## {args.scale} bulk requests, {started}\n\n{machine()}\n\nOne request each (bulk_operations "
                f"in bench/run.py), binary {binary}, on the data set above.\n\n{bulk_table(bulk)}\n\n"
                f"{bulk_goals(bulk)}\n")
        print(text)
        if not args.smoke:
            write_results(args.output, f"{args.scale} bulk requests", text)
    if sheets:
        text = (f"## {args.scale} spreadsheets, {started}\n\n{machine()}\n\nbinary {binary}; "
                f"spreadsheet_workloads in bench/run.py\n\n{sheets}\n")
        print(text)
        if not args.smoke:
            write_results(args.output, f"{args.scale} spreadsheets", text)
    if uploads:
        text = (f"## {args.scale} uploads, {started}\n\n{machine()}\n\nbinary {binary}; "
                f"upload_workloads in bench/run.py\n\n{uploads}\n")
        print(text)
        if not args.smoke:
            write_results(args.output, f"{args.scale} uploads", text)
    if hooks:
        text = (f"## {args.scale} webhooks, {started}\n\n{machine()}\n\n{counts}; binary {binary}; "
                f"webhook_workloads in bench/run.py\n\n{hooks}\n")
        print(text)
        if not args.smoke:
            write_results(args.output, f"{args.scale} webhooks", text)


def xlsx_of(rows):
    """A minimal XLSX (one sheet, inline strings and numbers) of `rows`, as a spreadsheet would save them:
    the standard library only, so the runner needs no package."""
    import io
    import zipfile
    from xml.sax.saxutils import escape

    def column(index):
        letters = ""
        index += 1
        while index:
            index, rest = divmod(index - 1, 26)
            letters = chr(65 + rest) + letters
        return letters

    sheet = io.StringIO()
    sheet.write('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
    for r, row in enumerate(rows, start=1):
        sheet.write(f'<row r="{r}">')
        for c, value in enumerate(row):
            ref = f"{column(c)}{r}"
            if isinstance(value, (int, float)):
                sheet.write(f'<c r="{ref}"><v>{value}</v></c>')
            elif value:
                sheet.write(f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
        sheet.write("</row>")
    sheet.write("</sheetData></worksheet>")
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet.getvalue(),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


def raw_request(server, method, path, token, body=None, content_type=None):
    """`method path` with a raw body; the status, the body's size in bytes and the seconds it took."""
    req = urllib.request.Request(server.base + path, method=method, data=body)
    req.add_header("Authorization", "Bearer " + token)
    if content_type:
        req.add_header("Content-Type", content_type)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=600) as response:
            size = len(response.read())
            return response.status, size, time.perf_counter() - started
    except urllib.error.HTTPError as error:
        return error.code, len(error.read()), time.perf_counter() - started


def tus_upload(server, token, body):
    """A whole tus upload (creation, then one PATCH with every byte; the file is checked and stored before the
    PATCH is answered): the upload's address and the seconds from the first request to the last answer."""
    started = time.perf_counter()
    req = urllib.request.Request(server.base + "/api/v1/uploads", method="POST", data=b"")
    for name, value in (("Authorization", "Bearer " + token), ("Tus-Resumable", "1.0.0"),
                        ("Upload-Length", str(len(body))),
                        ("Upload-Metadata", "filename c2Nhbi5wZGY=")):
        req.add_header(name, value)
    with urllib.request.urlopen(req, timeout=600) as response:
        location = response.headers["Location"]
    req = urllib.request.Request(server.base + location, method="PATCH", data=body)
    for name, value in (("Authorization", "Bearer " + token), ("Tus-Resumable", "1.0.0"), ("Upload-Offset", "0"),
                        ("Content-Type", "application/offset+octet-stream")):
        req.add_header(name, value)
    with urllib.request.urlopen(req, timeout=600) as response:
        if response.status != 204 or int(response.headers["Upload-Offset"]) != len(body):
            raise SystemExit(f"uploads: PATCH answered {response.status}")
    return location, time.perf_counter() - started


def tus_delete(server, token, location):
    req = urllib.request.Request(server.base + location, method="DELETE")
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("Tus-Resumable", "1.0.0")
    with urllib.request.urlopen(req, timeout=60):
        pass


def upload_workloads(server, args, data_dir):
    """Issue 20's figures, in one run: a 15 MiB scanned sign-in sheet (a PDF, kept byte for byte) uploaded through
    the API beside a plain copy of the same bytes to the same disk (written, fsynced: what storing a file durably
    costs), alternated five times; then the server's resident memory while ten 15 MiB uploads run at once."""
    import threading

    admin = server.login("demo.admin")
    size = (2 if args.smoke else 15) * 1024 * 1024
    repeat = 2 if args.smoke else 5
    staging = os.path.join(data_dir, "files", ".staging")
    os.makedirs(staging, exist_ok=True)

    def scan(tag):
        # Different bytes each time: content-addressed storage would otherwise find the file stored already.
        return b"%PDF-1.4\n%" + tag.encode().ljust(32) + b"\n" + os.urandom(size - 56) + b"\n%%EOF\n"

    source = os.path.join(staging, "bench-source.pdf")
    copy_times, api_times = [], []
    for index in range(repeat):
        body = scan(f"copy-{index}")
        with open(source, "wb") as f:
            f.write(body)
        target = os.path.join(staging, "bench-copy.pdf")
        started = time.perf_counter()
        shutil.copyfile(source, target)
        with open(target, "rb+") as f:
            os.fsync(f.fileno())
        copy_times.append(time.perf_counter() - started)
        os.remove(target)
        location, seconds = tus_upload(server, admin, scan(f"api-{index}"))
        api_times.append(seconds)
        tus_delete(server, admin, location)
        log(f"uploads: {size / 2**20:.0f} MiB copy {copy_times[-1]:.3f} s, API {seconds:.3f} s")
    os.remove(source)
    copy_times.sort()
    api_times.sort()
    copy = copy_times[len(copy_times) // 2]
    api = api_times[len(api_times) // 2]
    ratio = copy / api
    mib = size / 2**20
    lines = ["| Path | Bytes | Median s | Min s | Max s | MiB/s |", "|---|---|---|---|---|---|",
             f"| plain copy (cp + fsync) | {size:,} | {copy:.3f} | {copy_times[0]:.3f} | {copy_times[-1]:.3f} | "
             f"{mib / copy:.0f} |",
             f"| API: POST /uploads + PATCH (stored, hashed, checked) | {size:,} | {api:.3f} | {api_times[0]:.3f} | "
             f"{api_times[-1]:.3f} | {mib / api:.0f} |"]
    verdicts = [f"- {'met' if ratio >= 0.5 else 'MISSED'}: the API stores {mib / api:.0f} MiB/s = {ratio:.2f} of a "
                f"plain copy's {mib / copy:.0f} MiB/s on the same disk (goal: at least 0.5)"]

    time.sleep(1)
    before = vm_rss_mb(server)
    server.reset_peak_rss()
    bodies = [scan(f"parallel-{index}") for index in range(10)]
    results = [None] * 10

    def one(index):
        results[index] = tus_upload(server, admin, bodies[index])

    threads = [threading.Thread(target=one, args=(index,)) for index in range(10)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    peak = server.peak_rss_mb()
    if any(result is None for result in results):
        raise SystemExit("uploads: a parallel upload failed")
    for location, _ in results:
        tus_delete(server, admin, location)
    growth = peak - before
    lines += ["", "| Ten uploads at once | Bytes each | Wall s | RSS before, MB | Peak RSS, MB | Growth, MB |",
              "|---|---|---|---|---|---|",
              f"| 10 x POST /uploads + PATCH | {size:,} | {wall:.2f} | {before:.1f} | {peak:.1f} | {growth:+.1f} |"]
    verdicts.append(f"- {'met' if growth <= 20 else 'MISSED'}: ten {mib:.0f} MiB uploads at once: server RSS "
                    f"{before:.1f} -> {peak:.1f} MB ({growth:+.1f} MB; goal: within 20 MB)")
    log(f"uploads: ten at once in {wall:.2f} s, RSS {before:.0f} -> {peak:.0f} MB")
    return "\n".join(lines) + "\n\n" + "\n".join(verdicts)


def vm_rss_mb(server):
    with open(f"/proc/{server.process.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def spreadsheet_workloads(server, args):
    """Issue 21's figures, in one run: the whole team list (2,448 in Sơn La) exported as XLSX beside CSV, a
    10,000-member import (dry run: read, decode and plan every row, write nothing, so each repetition sees the
    same database) as XLSX beside the same rows as CSV, each alternated five times. First, on the server as it
    started (idle), its resident memory while it exports 100,000 sessions as XLSX (and as CSV), against its
    resident memory just before."""
    admin = server.login("demo.admin")
    repeat = 2 if args.smoke else 5
    lines = ["| Request | Format | Rows | Bytes | Median s | Min s | Max s |", "|---|---|---|---|---|---|---|"]
    verdicts = []

    def alternate(label, rows, calls):
        times = {name: [] for name in calls}
        sizes = {}
        for _ in range(repeat):
            for name, call in calls.items():
                status, size, seconds = call()
                if status != 200:
                    raise SystemExit(f"spreadsheets: {label} {name}: {status}")
                times[name].append(seconds)
                sizes[name] = size
        medians = {}
        for name, values in times.items():
            values.sort()
            medians[name] = values[len(values) // 2]
            lines.append(f"| {label} | {name} | {rows:,} | {sizes[name]:,} | {medians[name]:.3f} | {values[0]:.3f} "
                         f"| {values[-1]:.3f} |")
            log(f"spreadsheets: {label} as {name}: median {medians[name]:.3f} s")
        ratio = medians["XLSX"] / medians["CSV"]
        verdicts.append(f"- {'met' if ratio <= 2 else 'MISSED'}: {label}: XLSX {medians['XLSX']:.3f} s = "
                        f"{ratio:.2f} x the CSV's {medians['CSV']:.3f} s (goal: at most 2 x)")

    wanted = 10000 if args.smoke else 100000
    # The oldest sessions (the newest days hold what the write benchmarks logged today).
    until = server.sql("SELECT held_on FROM training_sessions WHERE deleted_at IS NULL "
                       f"ORDER BY held_on OFFSET {wanted - 1} LIMIT 1") or date.today().isoformat()
    exported = int(server.sql(f"SELECT count(*) FROM training_sessions WHERE deleted_at IS NULL "
                              f"AND held_on <= '{until}'"))
    memory = ["| Export | Rows | Bytes | Seconds | RSS before, MB | Peak RSS, MB | Growth, MB |",
              "|---|---|---|---|---|---|---|"]
    for name in ("xlsx", "csv", "xlsx"):
        time.sleep(1)
        before = vm_rss_mb(server)
        server.reset_peak_rss()
        status, size, seconds = raw_request(server, "GET", f"/api/v1/training-sessions?to={until}&format={name}",
                                            admin)
        if status != 200:
            raise SystemExit(f"spreadsheets: export of sessions as {name}: {status}")
        peak = server.peak_rss_mb()
        growth = peak - before
        log(f"spreadsheets: {exported:,} sessions as {name}: {seconds:.1f} s, RSS {before:.0f} -> {peak:.0f} MB")
        memory.append(f"| GET /training-sessions?to={until}&format={name} | {exported:,} | {size:,} | "
                      f"{seconds:.2f} | {before:.1f} | {peak:.1f} | {growth:+.1f} |")
        if name == "xlsx":
            verdicts.append(f"- {'met' if growth <= 30 else 'MISSED'}: {exported:,} sessions as XLSX in "
                            f"{seconds:.1f} s, server RSS {before:.1f} -> {peak:.1f} MB ({growth:+.1f} MB; goal: "
                            f"within 30 MB)")

    teams = int(server.sql("SELECT count(*) FROM teams"))
    alternate("GET /teams, the whole list", teams, {
        "CSV": lambda: raw_request(server, "GET", "/api/v1/teams?format=csv", admin),
        "XLSX": lambda: raw_request(server, "GET", "/api/v1/teams?format=xlsx", admin),
    })

    count = 1000 if args.smoke else 10000
    codes = server.sql(f"SELECT code FROM teams WHERE status <> 'dissolved' ORDER BY code LIMIT {count // 4}").split()
    header = ["team_code", "full_name", "phone", "gender", "birth_year", "ethnicity", "affiliation", "role",
              "joined_on"]
    rows = []
    for n in range(count):
        rows.append([codes[n % len(codes)], f"Thành viên Thử Nghiệm {n:05d}", f"09{n:08d}",
                     "female" if n % 2 else "male", 1960 + n % 40, "thai" if n % 3 else "kinh", "resident",
                     "member", "2025-08-01"])
    csv_body = "\ufeff" + ",".join(header) + "\n" + "".join(
        ",".join(str(v) for v in row) + "\n" for row in rows)
    xlsx_body = xlsx_of([header] + rows)
    alternate(f"POST /imports/members?dry_run=true ({count:,} new members)", count, {
        "CSV": lambda: raw_request(server, "POST", "/api/v1/imports/members?dry_run=true", admin,
                                   csv_body.encode(), "text/csv"),
        "XLSX": lambda: raw_request(server, "POST", "/api/v1/imports/members?dry_run=true", admin, xlsx_body,
                                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    })

    return "\n".join(lines) + "\n\n" + "\n".join(memory) + "\n\n" + "\n".join(verdicts)


def session_body(server):
    """The session workload 4 logs: the demo leader's team, today."""
    return {
        "team_id": server.sql("SELECT team_id FROM users WHERE username = 'demo.leader'"), "kind": "training",
        "held_on": date.today().isoformat(), "duration_minutes": 90, "format": "in_person",
        "topics": ["vneid", "fraud_prevention"], "participants_total": 30, "participants_female": 15,
        "participants_ethnic_minority": 25, "participants_elderly": 3, "households_reached": 20,
        "vneid_activations": 10, "payment_accounts_opened": 2, "public_service_accounts_created": 3,
        "online_dossiers_submitted": 1, "apps_installed": 5,
    }


# Search terms of the search workloads: seven syllables common in names and units, three matching nothing.
SEARCH_TERMS = ["thị", "Văn", "Cầm", "Tòn", "Hoa", "Lèo", "Sơn", "qzx", "wjy", "xkq"]


def measure(server, args, workdir):
    admin, viewer, leader = server.login("demo.admin"), server.login("demo.viewer"), server.login("demo.leader")
    province = server.sql("SELECT id FROM org_units WHERE code = 'son-la'")
    communes = server.sql("SELECT id FROM org_units WHERE level = 'commune' AND valid_to IS NULL "
                          "ORDER BY md5(id::text) LIMIT 200").split()
    teams = server.sql("SELECT id FROM teams ORDER BY md5(id::text) LIMIT 1000").split()
    session = session_body(server)
    workloads = [
        Workload("login", "1 login (argon2id)", "POST", ["/api/v1/auth/login"], None,
                 {"username": "demo.viewer", "password": PASSWORD}),
        Workload("team", "2 GET /teams/{id}", "GET", [f"/api/v1/teams/{t}" for t in teams], admin),
        Workload("teams", "3 GET /teams?org_unit_id=commune", "GET",
                 [f"/api/v1/teams?org_unit_id={c}&limit=50" for c in communes], admin),
        Workload("session", "4 POST /training-sessions", "POST", ["/api/v1/training-sessions"], leader, session,
                 expect=201, idempotent_key=True),
        Workload("summary", "5a GET /reports/summary (province)", "GET",
                 [f"/api/v1/reports/summary?org_unit_id={province}"], viewer),
        Workload("breakdown", "5b GET /reports/breakdown?by=child_unit", "GET",
                 [f"/api/v1/reports/breakdown?by=child_unit&org_unit_id={province}"], viewer),
        Workload("pull", "6 GET /sync/pull (leader, from zero)", "GET", ["/api/v1/sync/pull"], leader),
        # Three-letter searches, three in ten for text no name holds (issue 24's measurement).
        Workload("search_teams", "7a GET /teams?q= (three letters)", "GET",
                 [f"/api/v1/teams?q={urllib.parse.quote(t)}&limit=50" for t in SEARCH_TERMS], admin),
        Workload("search_people", "7b GET /people?q= (three letters)", "GET",
                 [f"/api/v1/people?q={urllib.parse.quote(t)}&limit=50" for t in SEARCH_TERMS], admin),
    ]
    if args.only:
        wanted = set(args.only.split(","))
        workloads = [w for w in workloads if w.name in wanted or (w.name == "team" and "team_storm" in wanted)]
    log("capturing each endpoint's SQL from the statement log")
    scripts = capture(server, workloads, workdir)
    rows = []
    for workload in workloads:
        log(f"API: {workload.name}")
        server.reset_peak_rss()
        result = run_wrk(server, workload, args.seconds, args.connections, args.threads, args.max_requests, workdir)
        result.update(name=workload.name, label=workload.label, connections=args.connections,
                      rss=server.peak_rss_mb())
        path, variables, statements = scripts[workload.name]
        log(f"pgbench: {workload.name} ({statements} statements)")
        bench = run_pgbench(server, path, variables, args.seconds, args.connections, args.threads)
        result.update(tps=bench["tps"], statements=statements)
        result["errors"] += bench["failed"]
        rows.append(result)
        if workload.name == "team" and (not args.only or "team_storm" in args.only.split(",")):
            rows.append(login_storm(server, workloads, args, workdir))
    return rows


def timed(server, method, path, token, body):
    started = time.perf_counter()
    status, answer = server.request(method, path, token, body)
    return status, answer, time.perf_counter() - started


def bulk_operations(server, args):
    """The monthly sign-off's bulk requests, each timed once (one request does the whole job): verify 5,000
    sessions by ids; verify a month's remaining records of every commune by filter; then submit and accept
    that month for every commune-level unit (75 in Sơn La) by filter. Each run takes a month not signed off
    yet, going back from three months ago, so a kept data set can be measured again."""
    admin = server.login("demo.admin")
    rows = []

    def row(name, label, status, answer, seconds, items):
        applied = answer.get("applied", 0) if isinstance(answer, dict) else 0
        refused = answer.get("refused", 0) if isinstance(answer, dict) else 0
        log(f"bulk: {label}: {status} in {seconds:.2f} s ({applied} applied, {refused} refused)")
        if status != 200:
            raise SystemExit(f"bulk: {label}: {status} {answer}")
        rows.append(dict(name=name, label=label, status=status, seconds=seconds, items=items, applied=applied,
                         refused=refused))

    # The realistic case first (what waits is the last weeks' work: the most recent records awaiting
    # verification), then the worst case (records picked at random over the whole data set, every one on
    # other aggregate pages).
    count = 500 if args.smoke else 5000
    for order, what in (("held_on DESC, id", "the most recent"), ("md5(id::text)", "random")):
        ids = server.sql("SELECT id FROM training_sessions s WHERE status = 'submitted' AND deleted_at IS NULL "
                         "AND cdt_sign_off_state(team_id, held_on) IS NULL "
                         f"ORDER BY {order} LIMIT {count}").split()
        status, answer, seconds = timed(server, "POST", "/api/v1/training-sessions/review", admin,
                                        {"decision": "verify", "ids": ids})
        row("bulk_verify", f"verify {len(ids):,} sessions by ids ({what} awaiting verification)", status, answer,
            seconds, len(ids))
        # Back to waiting (untimed), so the kept data set measures the same next time.
        server.sql("UPDATE training_sessions SET status = 'submitted', reviewed_by = NULL, reviewed_at = NULL, "
                   f"rejection_reason = NULL WHERE id IN ({', '.join(repr(i) for i in ids)})")

    month = server.sql(
        "SELECT to_char(m, 'YYYY-MM') FROM generate_series(date_trunc('month', now()) - interval '3 months', "
        "date_trunc('month', now()) - interval '48 months', interval '-1 month') AS m "
        "WHERE NOT EXISTS (SELECT 1 FROM sign_offs WHERE period = m::date) LIMIT 1")
    communes = server.sql("SELECT id FROM org_units WHERE level = 'commune' AND valid_to IS NULL").split()
    started, verified = time.perf_counter(), 0
    for commune in communes:
        for kind in ("training-sessions", "reach-activities"):
            status, answer = server.request("POST", f"/api/v1/{kind}/review", admin,
                                            {"decision": "verify", "filter": {"org_unit_id": commune, "period": month}})
            if status != 200:
                raise SystemExit(f"bulk review of {commune} {month}: {status} {answer}")
            verified += answer["applied"]
    log(f"bulk: verified the {verified:,} records left in {month} with {2 * len(communes)} filtered requests in "
        f"{time.perf_counter() - started:.1f} s")
    for action in ("submit", "accept"):
        status, answer, seconds = timed(server, "POST", "/api/v1/sign-offs/bulk", admin,
                                        {"action": action, "filter": {"from": month, "to": month}})
        row(f"bulk_{action}", f"{action} {len(communes)} unit-months ({month}) by filter", status, answer,
            seconds, len(communes))
    return rows


def bulk_table(rows):
    lines = ["| Bulk request | Status | Items | Applied | Refused | Seconds | Goal |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['label']} | {r['status']} | {r['items']:,} | {r['applied']:,} | {r['refused']:,} "
                     f"| {r['seconds']:.2f} | < 2 s |")
    return "\n".join(lines)


def bulk_goals(rows):
    out = []
    for r in rows:
        ok = r["status"] == 200 and r["refused"] == 0 and r["seconds"] < 2
        out.append(f"- {'met' if ok else 'MISSED'}: {r['label']} in {r['seconds']:.2f} s, "
                   f"{r['refused']} refused (goal < 2 s, none refused)")
    return "\n".join(out)


def webhook_workloads(server, args, workdir):
    """Issue 19's two figures, in one run: session-write throughput (workload 4) with no subscription, with
    three active subscriptions to a local receiver (bench/receiver.py, which verifies every signature), and
    with none again; then how fast one subscription's backlog drains (a replay of everything the three-
    subscription run wrote)."""
    admin, leader = server.login("demo.admin"), server.login("demo.leader")
    session = Workload("session", "4 POST /training-sessions", "POST", ["/api/v1/training-sessions"], leader,
                       session_body(server), expect=201, idempotent_key=True)

    def writes(label):
        result = run_wrk(server, session, args.seconds, args.connections, args.threads, args.max_requests, workdir)
        log(f"webhooks: session writes {label}: {result['rps']:.0f}/s, {result['errors']} errors")
        return result

    def pending():
        return int(server.sql("SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'"))

    port = free_port()
    secrets_file, stats_file = os.path.join(workdir, "secrets"), os.path.join(workdir, "receiver.json")
    verify_file = os.path.join(workdir, "verify-every")

    def verify_every(n):
        with open(verify_file, "w") as f:
            f.write(str(n))
        time.sleep(0.5)

    # While the API's write throughput is measured the receiver checks a sample (1 in 100): it shares the two
    # cores, and its Python HMACs are not the API's cost. It checks every signature of the delivery-rate run.
    verify_every(100)
    subscriptions = []
    for index in range(3):
        status, created = server.request("POST", "/api/v1/webhooks", admin, {
            "url": f"http://127.0.0.1:{port}/hooks/{index}", "event_types": ["*"], "enabled": False,
            "description": f"bench receiver {index}"})
        if status != 201:
            raise SystemExit(f"webhooks: subscribing: {status} {created}")
        subscriptions.append(created)
    with open(secrets_file, "w") as f:
        f.write("".join(s["secret"] + "\n" for s in subscriptions))
    receiver = subprocess.Popen([sys.executable, os.path.join(ROOT, "bench", "receiver.py"), str(port),
                                 secrets_file, stats_file, verify_file])

    def stats():
        try:
            with open(stats_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {"received": 0, "verified": 0, "bad_signatures": 0, "first": None, "last": None}

    def enable(flag):
        for s in subscriptions:
            status, answer = server.request("PATCH", f"/api/v1/webhooks/{s['id']}", admin, {"enabled": flag})
            if status != 200:
                raise SystemExit(f"webhooks: enabling: {status} {answer}")

    def drain(limit=300):
        deadline = time.time() + limit
        while pending() and time.time() < deadline:
            time.sleep(0.5)

    try:
        none_before = writes("with no subscription")
        enable(True)
        since = server.sql("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
        three = writes("with three subscriptions")
        drain()
        enable(False)
        none_after = writes("with no subscription again")
        # Throughput: one subscription's backlog of everything the three-subscription run wrote.
        first = subscriptions[0]
        status, answer = server.request("PATCH", f"/api/v1/webhooks/{first['id']}", admin, {"enabled": True})
        verify_every(1)
        before = stats()["received"]
        checked_before = stats()["verified"]
        status, answer = server.request("POST", f"/api/v1/webhooks/{first['id']}/replay", admin, {"since": since})
        if status != 202:
            raise SystemExit(f"webhooks: replay: {status} {answer}")
        queued, started = answer["queued"], time.perf_counter()
        drain()
        while stats()["received"] - before < queued and time.perf_counter() - started < 300:
            time.sleep(0.1)
        seconds = time.perf_counter() - started
        delivered = stats()["received"] - before
        final = stats()
        checked = final["verified"] - checked_before
    finally:
        receiver.terminate()
        receiver.wait()
        for s in subscriptions:
            server.request("DELETE", f"/api/v1/webhooks/{s['id']}", admin)
    baseline = (none_before["rps"] + none_after["rps"]) / 2
    ratio = three["rps"] / baseline if baseline else 0.0
    rate = delivered / seconds if seconds else 0.0
    lines = [
        "| Measure | Value | Goal |", "|---|---|---|",
        f"| session writes, no subscription (before / after) | {none_before['rps']:.0f} / {none_after['rps']:.0f} /s | |",
        f"| session writes, three subscriptions | {three['rps']:.0f} /s ({ratio:.2f} of none) | ≥ 0.9 of none |",
        f"| deliveries to a local receiver (replay of {queued:,} events) | {delivered:,} in {seconds:.1f} s = "
        f"{rate:.0f} /s | ≥ 1,000 /s |",
        f"| signatures that did not verify (every one of the rate run, 1 in 100 before) | "
        f"{final['bad_signatures']} of {final['verified']:,} checked ({checked:,} in the rate run) | 0 |",
    ]
    goals = [
        f"- {'met' if ratio >= 0.9 else 'MISSED'}: session writes with three subscriptions at {ratio:.2f} of none "
        "(goal ≥ 0.9)",
        f"- {'met' if rate >= 1000 else 'MISSED'}: {rate:.0f} deliveries/s to a local receiver (goal ≥ 1,000)",
        f"- {'met' if final['bad_signatures'] == 0 else 'MISSED'}: every signature verified "
        f"({final['bad_signatures']} failed)",
    ]
    return "\n".join(lines) + "\n\n" + "\n".join(goals)


def login_storm(server, workloads, args, workdir):
    """Workload 2 again while workload 1 runs at full speed beside it."""
    log("API: team reads during a login storm")
    login = next(w for w in workloads if w.name == "login")
    team = next(w for w in workloads if w.name == "team")
    script = write_lua(login, 1, args.max_requests, workdir)
    server.reset_peak_rss()
    storm = subprocess.Popen(
        ["wrk", "-t", "1", "-c", str(args.connections), "-d", f"{args.seconds + 2}s", "--timeout", "10s",
         "-s", script, server.base], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    result = run_wrk(server, team, args.seconds, args.connections, args.threads, args.max_requests, workdir)
    out, _ = storm.communicate()
    match = re.search(r"^RESULT (\{.*\})$", out, re.M)
    storm_result = json.loads(match.group(1)) if match else {"requests": 0, "duration_us": 1}
    result.update(name="team_storm", connections=args.connections, rss=server.peak_rss_mb(),
                  label=f"2 during login storm ({storm_result['requests'] / (storm_result['duration_us'] / 1e6):.0f} logins/s beside)")
    result["errors"] += storm_result.get("socket_errors", 0) + storm_result.get("unexpected", 0)
    return result


def write_results(path, key, section):
    """Keeps one section per scale (`sonla scale`), per scale's bulk requests (`sonla bulk requests`), webhook
    figures (`sonla webhooks`), spreadsheet figures (`sonla spreadsheets`) and upload figures (`sonla uploads`) in
    RESULTS.md, replacing the
    previous one of the same key."""
    intro = ("# Benchmark results\n\nWritten by `python3 bench/run.py` (see bench/README.md): each API workload "
             "measured with wrk, beside the same SQL replayed by pgbench (prepared statements, same clients) as "
             "the database's own ceiling on the same machine in the same run.\n\n")
    sections, notes = {}, []
    if os.path.exists(path):
        current = open(path).read()
        for part in re.split(r"\n(?=## )", current):
            match = re.match(r"## (\w+) (scale|bulk requests|webhooks|spreadsheets|uploads)", part)
            if match:
                sections[f"{match.group(1)} {match.group(2)}"] = part.strip() + "\n"
            elif part.startswith("## "):
                notes.append(part.strip() + "\n")  # hand-written sections stay, after the measurements
    sections[key] = section.strip() + "\n"
    kinds = ("scale", "bulk requests", "webhooks", "spreadsheets", "uploads")
    order = [f"{s} {kind}" for s in ("tiny", "sonla", "national") for kind in kinds if f"{s} {kind}" in sections]
    with open(path, "w") as f:
        f.write(intro + "\n".join([sections[s] for s in order] + notes))


if __name__ == "__main__":
    main()
