"""Load benchmark: gunicorn with the production settings, a load generator in a second process.

    .venv/bin/python bench/load.py                      # everything: setup if needed, loads, visibility
    .venv/bin/python bench/load.py --quick              # shorter runs, for a smoke test

Setup (skipped when already done): database ``bench_load`` (migrate, 100k patients from
bench/generate.py), a registry admin with an API token and a signed-in session, a stats snapshot.
Then, for each endpoint and beside it a bare Django view running the same queries
(bench/load_urls.py, no middleware: bench/load_wsgi.py), in the same run, interleaved:

- open model: a constant arrival rate (``--rate``, default 200/s) for ``--duration`` seconds,
  latency counted from each request's due time (bench/loadgen.py);
- closed loop: ``--concurrency`` connections back to back, the maximum throughput (wrk if
  installed, else bench/loadgen.py).

The patient detail runs again with each gunicorn worker count of ``--sweep-workers``. Last, with
a Celery worker and beat on Redis, a follow-up saved through the API and the time until
/dashboard/status shows a new snapshot version. Everything started is stopped at the end.
Results: a table on stdout and bench/results/load-<UTC time>.md (and .json).
Ids and timings only, never PHI; the load generator talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = sys.executable
BIN = Path(PYTHON).parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/bench_load"
DEFAULT_BROKER = "redis://127.0.0.1:6379/5"
USERNAME = "bench-load-admin"
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'  # as in the Dockerfile


def log(message: str) -> None:
    print(f"[{datetime.datetime.now(datetime.UTC):%H:%M:%S}] {message}", flush=True)


def loadavg() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# --- Environment and setup ------------------------------------------------------------------


def server_env(args, secret_key: str) -> dict:
    """The production configuration (README "Configuration"), on the bench database and Redis DB 5."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=args.database_url,
        CELERY_BROKER_URL=args.broker_url,
        DJANGO_SETTINGS_MODULE="bench.load_settings",
        DEBUG="0",
        SECRET_KEY=secret_key,
        ALLOW_LOCAL_SECRET_KEY="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL="1",
        BEHIND_PROXY="1",
        CONN_MAX_AGE="60",
        OPENBLAS_NUM_THREADS="1",
        LOG_LEVEL="INFO",
        PYTHONPATH=str(ROOT),
    )
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


def psql(database_url: str, sql: str) -> str:
    out = subprocess.run(
        ["psql", database_url, "-Atqc", sql], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    return out.strip()


def ensure_database(args, env: dict) -> None:
    url = urlparse(args.database_url)
    name = url.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"Refusing database {name!r}: its name must contain 'bench'.")
    admin_url = args.database_url.rsplit("/", 1)[0] + "/postgres"
    if psql(admin_url, f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":
        log(f"creating database {name}")
        psql(admin_url, f'CREATE DATABASE "{name}"')
    log("migrate")
    subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    patients = int(psql(args.database_url, "SELECT count(*) FROM registry_patient"))
    if patients != args.patients:
        log(f"{patients} patients in {name}: loading {args.patients} with bench/generate.py")
        subprocess.run([PYTHON, str(BENCH / "generate.py"), str(args.patients)], cwd=ROOT, env=env, check=True)
        # generate.py empties the snapshots; the ANALYZE gives the planner the new tables' statistics.
        psql(args.database_url, "ANALYZE")


def prepare(out_path: str) -> None:
    """Runs under Django (``load.py prepare``): user, token, session, snapshot, sample ids."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from analysis.models import Snapshot
    from analysis.services import stats_refresh
    from outcomes.models import Encounter
    from registry.choices import Role
    from registry.models import ApiToken, Patient, Procedure
    from registry.services import staff_user_create

    user = get_user_model().objects.filter(username=USERNAME).first()
    if user is None:
        user = staff_user_create(username=USERNAME, password=secrets.token_urlsafe(24), role=Role.ADMIN)
    ApiToken.objects.filter(user=user, name="bench").delete()
    _, token_key = ApiToken.objects.create(user=user, name="bench", expiry=None)  # a run may outlast a working day
    # A signed-in session, as django.contrib.auth.login() stores it (the password never leaves this process).
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    # An admin's session counts once its second factor is given, as the verify page records it.
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.create()
    if not Snapshot.objects.filter(site__isnull=True).exists():
        result = stats_refresh()
        print(f"stats snapshot computed in {result.duration_ms} ms", flush=True)
    rng = random.Random(20261124)
    patient_ids = list(Patient.objects.values_list("id", flat=True))
    today = datetime.date.today()
    procedures = []
    for pk, date in Procedure.objects.filter(patient__death_date__isnull=True).values_list("id", "date"):
        if date + datetime.timedelta(days=400) < today:
            procedures.append((pk, date))
    procedures = rng.sample(procedures, 4000)
    Path(out_path).write_text(
        json.dumps(
            {
                "token": token_key,
                "session": session.session_key,
                "patients": rng.sample(patient_ids, 2000),
                "procedures": [
                    [pk, (date + datetime.timedelta(days=rng.randint(200, 400))).isoformat()] for pk, date in procedures
                ],
                "n_patients": len(patient_ids),
                "n_encounters": Encounter.objects.count(),
            }
        )
    )


# --- Processes -----------------------------------------------------------------------------


class Processes:
    """The processes this benchmark starts (each in its own process group), stopped by their ids."""

    def __init__(self):
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict, logfile: Path) -> None:
        handle = open(logfile, "ab")  # noqa: SIM115 - closed with the process
        self.running[name] = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        handle.close()

    def stop(self, name: str) -> None:
        process = self.running.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


def http(port: int, method: str, path: str, headers: dict, body: str | None = None, timeout=10) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body.encode() if body else None, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


urllib.request.install_opener(urllib.request.build_opener(NoRedirect))


def start_gunicorn(procs: Processes, env: dict, port: int, workers: int, logdir: Path) -> None:
    argv = [str(BIN / "gunicorn"), "bench.load_wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    argv += ["--access-logfile", str(logdir / "access.log"), "--access-logformat", ACCESS_LOG_FORMAT]
    procs.start("gunicorn", argv, env, logdir / "gunicorn.log")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if http(port, "GET", "/healthz", {"X-Forwarded-Proto": "https"}, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    sys.exit(f"gunicorn did not answer; see {logdir / 'gunicorn.log'}")


# --- Scenarios -------------------------------------------------------------------------------


def scenarios(data: dict) -> list[dict]:
    """Each endpoint of the project, and the bare view running the same queries."""
    https = {"X-Forwarded-Proto": "https"}
    web = {**https, "Cookie": f"sessionid={data['session']}"}
    api = {**https, "Authorization": f"Token {data['token']}", "Accept": "application/json"}
    post = {**api, "Content-Type": "application/json"}
    patients = data["patients"]
    encounters = [
        json.dumps(
            {
                "procedure": pk,
                "date": date,
                "kind": "followup",
                **{f"msts_{d}": (i + k) % 6 for k, d in enumerate(DOMAINS)},
                "narcotic_change": "decreased",
                "opioid_mme_per_day": "15.0",
            }
        )
        for i, (pk, date) in enumerate(data["procedures"])
    ]
    half = len(encounters) // 2

    def gets(path: str, headers: dict, ids=None) -> list:
        return [["GET", path.format(pk=pk), headers, None] for pk in ids] if ids else [["GET", path, headers, None]]

    return [
        {
            "name": "patient detail (web)",
            "app": gets("/patients/{pk}/", web, patients),
            "bare": gets("/bare/patients/{pk}/", https, patients),
        },
        {
            "name": "patient detail (API)",
            "app": gets("/api/patients/{pk}/", api, patients),
            "bare": gets("/bare/api/patients/{pk}/", https, patients),
        },
        {
            "name": "patient list, 50 (API)",
            "app": gets("/api/patients/?page_size=50", api),
            "bare": gets("/bare/api/patients/?page_size=50", https),
        },
        {"name": "patient list, 25 (web)", "app": gets("/patients/", web), "bare": gets("/bare/patients/", https)},
        {
            "name": "encounter create (API)",
            "app": [["POST", "/api/encounters/", post, body] for body in encounters[:half]],
            "bare": [
                ["POST", "/bare/api/encounters/", {**https, "Content-Type": "application/json"}, body]
                for body in encounters[half:]
            ],
        },
        {"name": "dashboard (web)", "app": gets("/dashboard/", web), "bare": gets("/bare/dashboard/", https)},
        {
            "name": "dashboard status",
            "app": gets("/dashboard/status", web),
            "bare": gets("/bare/dashboard/status", https),
        },
        {"name": "stats (API)", "app": gets("/api/stats/", api), "bare": gets("/bare/api/stats/", https)},
    ]


DOMAINS = ("pain", "function", "emotional_acceptance", "supports", "walking", "gait")
PING = [["GET", "/bare/ping", {"X-Forwarded-Proto": "https"}, None]]


def smoke(port: int, requests: list) -> None:
    """One request of each kind must succeed before any load: a redirect or 403 would measure nothing."""
    method, path, headers, body = requests[-1]
    status, _ = http(port, method, path, headers, body)
    if status not in (200, 201):
        sys.exit(f"{method} {path.split('?')[0]} answered {status}, not 200/201: check the setup.")


def loadgen(spec: dict, tmp: Path) -> dict:
    path = tmp / "spec.json"
    path.write_text(json.dumps(spec))
    out = subprocess.run([PYTHON, str(BENCH / "loadgen.py"), str(path)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


WRK_SCRIPT = """
local reqs = {}
local n = 0
local i = 0
local spec = io.open("%(path)s"):read("*a")
for method, path, body in spec:gmatch("(%%S+) (%%S+) (%%S*)\\n") do
  n = n + 1
  reqs[n] = {method, path, body}
end
local headers = %(headers)s
request = function()
  i = i + 1
  local r = reqs[(i %% n) + 1]
  local body = nil
  if r[3] ~= "-" then body = r[3] end
  return wrk.format(r[1], r[2], headers, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nJSON {"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, "write": %%d, '
    .. '"status": %%d, "timeout": %%d, "p50": %%d, "p95": %%d, "p99": %%d, "max": %%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def closed_loop(port: int, requests: list, duration: float, concurrency: int, tmp: Path) -> dict:
    """Maximum throughput: wrk (C, little CPU taken from the server) if installed, else loadgen.py."""
    wrk = shutil.which("wrk")
    if wrk is None:
        spec = {"port": port, "mode": "closed", "duration": duration, "concurrency": concurrency, "requests": requests}
        result = loadgen(spec, tmp)
        result["tool"] = "loadgen.py"
        return result
    lines = tmp / "wrk-requests.txt"
    # Bodies are compact JSON without spaces, so one line per request splits on spaces.
    lines.write_text("".join(f"{m} {p} {b.replace(' ', '') if b else '-'}\n" for m, p, _, b in requests))
    headers = "{" + ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in requests[0][2].items()) + "}"
    script = tmp / "wrk.lua"
    script.write_text(WRK_SCRIPT % {"path": lines, "headers": headers})
    argv = [wrk, "-t1", f"-c{concurrency}", f"-d{duration}s", "--timeout", "10s", "-s", str(script)]
    out = subprocess.run([*argv, f"http://127.0.0.1:{port}"], check=True, capture_output=True, text=True).stdout
    raw = json.loads(out.split("JSON ", 1)[1].splitlines()[0])
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
    seconds = raw["duration_us"] / 1e6
    return {
        "tool": "wrk",
        "concurrency": concurrency,
        "sent": raw["requests"],
        "errors": errors,
        "rps": round((raw["requests"] - errors) / seconds, 1),
        **{f"p{q}_ms": round(raw[f"p{q}"] / 1000, 2) for q in (50, 95, 99)},
        "max_ms": round(raw["max"] / 1000, 2),
    }


def measure(port: int, requests: list, args, tmp: Path, rate: float | None = None) -> dict:
    """Warm-up, the closed-loop maximum, then the open-model run at ``rate`` (default: chosen here).

    An endpoint whose maximum is below 1.1 x --rate cannot be held at that rate: its queue
    would grow without end (and keep the server busy long after the run). It then runs at
    half its maximum instead, and the row says so.
    """
    closed_loop(port, requests, 1, args.concurrency, tmp)  # warm-up: every worker's connection and caches
    result = {"load_before": loadavg()}
    result["closed"] = closed_loop(port, requests, args.closed_duration, args.concurrency, tmp)
    if rate is None:
        rate = args.rate
        if result["closed"]["rps"] < 1.1 * rate:
            rate = max(1.0, round(result["closed"]["rps"] / 2))
    spec = {"port": port, "mode": "open", "rate": rate, "duration": args.duration, "requests": requests}
    result["open"] = loadgen(spec, tmp)
    result["load_after"] = loadavg()
    return result


def measure_rounds(port: int, scenarios_: list[dict], args, tmp: Path, rounds: int, label: str) -> list[dict]:
    """Each scenario's project and bare view back to back, the whole list ``rounds`` times over.

    On a shared machine a busy moment hits a few seconds: rounds spread each endpoint over the
    run, and the report gives the median round (by open-model p95) and every round's p95. The
    open-model rate of an endpoint is chosen in the first round and kept.
    """
    rows = [{"name": s["name"], **{kind: [] for kind in ("app", "bare") if kind in s}} for s in scenarios_]
    # A warm-up pass over everything first: freshly started workers (templates, URL resolvers,
    # connections) and cold database pages otherwise lower the first endpoint's maximum, which
    # chooses its open-model rate for every round.
    for scenario in scenarios_:
        for kind in ("app", "bare"):
            if kind in scenario:
                smoke(port, scenario[kind])
                closed_loop(port, scenario[kind], args.warmup, args.concurrency, tmp)
    rates: dict = {}
    for round_ in range(rounds):
        for scenario, row in zip(scenarios_, rows, strict=True):
            for kind in ("app", "bare"):
                if kind not in scenario:
                    continue
                result = measure(port, scenario[kind], args, tmp, rates.get((row["name"], kind)))
                rates[(row["name"], kind)] = result["open"]["rate"]
                row[kind].append(result)
                o = result["open"]
                log(
                    f"  {label}round {round_ + 1} {row['name']:<24} {kind:<4} p50/p95/p99 "
                    f"{o['p50_ms']}/{o['p95_ms']}/{o['p99_ms']} ms at {o['rate']}/s, "
                    f"max {result['closed']['rps']}/s, errors {o['errors']}, load {result['load_after']}"
                )
    return rows


# --- Visibility: a saved follow-up on the dashboard -------------------------------------------


def refresh_row(database_url: str) -> dict:
    row = psql(
        database_url,
        "SELECT coalesce(extract(epoch FROM now() - started_at), 1e9), scheduled_for IS NOT NULL, "
        "coalesce(started_at > coalesce(greatest(succeeded_at, failed_at), '-infinity'), false) "
        "FROM analysis_refreshstate WHERE id = 1",
    )
    if not row:
        return {"since_start": 1e9, "pending": False, "running": False}
    since, pending, running = row.split("|")
    return {"since_start": float(since), "pending": pending == "t", "running": running == "t"}


def wait_quiet(database_url: str, quiet_seconds: float, limit: float = 180) -> None:
    """Until no refresh is pending or running and the last one started ``quiet_seconds`` ago."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        state = refresh_row(database_url)
        if not state["pending"] and not state["running"] and state["since_start"] >= quiet_seconds:
            return
        time.sleep(0.5)
    raise RuntimeError("the refresh state never settled (is the Celery worker running?)")


def status_version(port: int, web: dict) -> str:
    status, body = http(port, "GET", "/dashboard/status", web)
    if status != 200:
        raise RuntimeError(f"/dashboard/status answered {status}")
    return json.loads(body)["version"]


def visibility(port: int, data: dict, args, tries: int, *, burst: bool, spare: list) -> list[dict]:
    """POST a follow-up, poll /dashboard/status every 50 ms until its version changes.

    quiet: the write comes after a quiet spell (no refresh for ``--quiet-seconds``).
    burst: another write first, and the measured one as soon as the refresh it caused has
    started, so it falls inside the coalescing window (the worst case of a burst).
    """
    https = {"X-Forwarded-Proto": "https"}
    web = {**https, "Cookie": f"sessionid={data['session']}"}
    post = {**https, "Authorization": f"Token {data['token']}", "Content-Type": "application/json"}

    def write() -> float:
        pk, date = spare.pop()
        body = json.dumps({"procedure": pk, "date": date, "kind": "followup", "msts_pain": 3})
        sent = time.perf_counter()
        status, _ = http(port, "POST", "/api/encounters/", post, body)
        if status != 201:
            raise RuntimeError(f"POST /api/encounters/ answered {status}")
        return sent

    results = []
    for attempt in range(tries):
        wait_quiet(args.database_url, args.quiet_seconds)
        if burst:
            write()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                state = refresh_row(args.database_url)
                if state["running"] or state["since_start"] < 5:
                    break
                time.sleep(0.05)
        before = status_version(port, web)
        sent = write()
        saved = time.perf_counter()
        while time.perf_counter() - sent < 60:
            version = status_version(port, web)
            # In a burst the first change is the refresh that was already running: wait for the next.
            if version != before and not (burst and refresh_row(args.database_url)["pending"]):
                break
            time.sleep(0.05)
        seen = time.perf_counter()
        results.append({"post_ms": round((saved - sent) * 1000, 1), "visible_s": round(seen - sent, 2)})
        log(f"  {'burst' if burst else 'quiet'} try {attempt + 1}: visible after {seen - sent:.2f} s")
    return results


# --- Report ----------------------------------------------------------------------------------


def fmt(value) -> str:
    return "-" if value is None else f"{value:g}"


def median_run(runs: list[dict]) -> dict:
    """The round with the median open-model p95 (the upper one of an even number)."""
    return sorted(runs, key=lambda run: run["open"]["p95_ms"])[len(runs) // 2]


def open_cell(o: dict, rate: float) -> str:
    """p50 / p95 / p99 of the open-model run; the rate is named when it is not --rate."""
    cell = f"{fmt(o['p50_ms'])} / **{fmt(o['p95_ms'])}** / {fmt(o['p99_ms'])}"
    return cell if o["rate"] == rate else f"{cell} (at {fmt(o['rate'])}/s)"


def each_p95(runs: list[dict]) -> str:
    return ", ".join(fmt(run["open"]["p95_ms"]) for run in runs)


def max_cell(runs: list[dict]) -> str:
    """Median closed-loop throughput of the rounds, and their range."""
    values = sorted(run["closed"]["rps"] for run in runs)
    median = values[len(values) // 2]
    return fmt(median) if len(values) == 1 else f"{fmt(median)} ({fmt(values[0])}-{fmt(values[-1])})"


def table(rows: list[dict], rate: float) -> str:
    lines = [
        f"| endpoint | view | open model {fmt(rate)}/s, median round: p50 / p95 / p99 ms | p95 of each round | "
        "errors | closed-loop max req/s: median (range) | closed p50 / p95 ms |",
        "|---|---|---|---|---:|---|---|",
    ]
    for row in rows:
        for kind in ("app", "bare"):
            if kind not in row:
                continue
            runs = row[kind]
            mid = median_run(runs)
            errors = sum(run["open"]["errors"] + run["closed"]["errors"] for run in runs)
            name = row["name"] if kind == "app" or "app" not in row else ""
            lines.append(
                f"| {name} | {'project' if kind == 'app' else 'bare'} | "
                f"{open_cell(mid['open'], rate)} | {each_p95(runs)} | {errors} | {max_cell(runs)} | "
                f"{fmt(mid['closed']['p50_ms'])} / {fmt(mid['closed']['p95_ms'])} |"
            )
    return "\n".join(lines)


def sweep_table(rows: list[dict], rate: float) -> str:
    lines = [
        f"| endpoint | workers | project, open {fmt(rate)}/s: p50 / p95 / p99 ms (p95 each round) | "
        "bare: p50 / p95 / p99 ms (p95 each round) | project max req/s | bare max req/s |",
        "|---|---:|---|---|---|---|",
    ]
    for row in rows:
        a, b = row["app"], row["bare"]
        lines.append(
            f"| {row['name']} | {row['workers']} | {open_cell(median_run(a)['open'], rate)} ({each_p95(a)}) | "
            f"{open_cell(median_run(b)['open'], rate)} ({each_p95(b)}) | {max_cell(a)} | {max_cell(b)} |"
        )
    return "\n".join(lines)


def visibility_table(quiet: list[dict], burst: list[dict]) -> str:
    lines = [
        "| write | tries | visible after, s (each) | median s | max s | POST ms (each) |",
        "|---|---:|---|---:|---:|---|",
    ]
    for name, rows in (("after a quiet spell", quiet), ("inside a burst (just after a refresh started)", burst)):
        if not rows:
            continue
        seen = sorted(r["visible_s"] for r in rows)
        each = ", ".join(f"{r['visible_s']:.2f}" for r in rows)
        posts = ", ".join(f"{r['post_ms']:.0f}" for r in rows)
        lines.append(f"| {name} | {len(rows)} | {each} | {seen[len(seen) // 2]:.2f} | {seen[-1]:.2f} | {posts} |")
    return "\n".join(lines)


def versions() -> str:
    def first_line(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    pg = first_line(["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"])
    gunicorn = first_line([str(BIN / "gunicorn"), "--version"])
    wrk = first_line(["wrk", "--version"]) if shutil.which("wrk") else "not installed"
    return f"Python {platform.python_version()}, {gunicorn}, PostgreSQL {pg}, wrk: {wrk}"


# --- Main ------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--broker-url", default=DEFAULT_BROKER)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of the full run (the Dockerfile's)")
    parser.add_argument("--sweep-workers", default="2,3,4", help="worker counts of the patient-detail sweep")
    parser.add_argument("--repeat", type=int, default=3, help="rounds over every endpoint")
    parser.add_argument("--sweep-repeat", type=int, default=2, help="rounds of the worker sweep")
    parser.add_argument("--rate", type=float, default=200, help="open-model arrival rate, requests/s")
    parser.add_argument("--duration", type=float, default=8, help="seconds of each open-model run")
    parser.add_argument("--closed-duration", type=int, default=4, help="seconds of each closed-loop run")
    parser.add_argument("--concurrency", type=int, default=8, help="connections of the closed loop")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of closed loop per endpoint before round 1")
    parser.add_argument("--visibility-tries", type=int, default=5)
    parser.add_argument("--burst-tries", type=int, default=2)
    parser.add_argument("--quiet-seconds", type=float, default=16, help="quiet spell before a visibility try")
    parser.add_argument("--only", help="run only the endpoints whose name contains this text")
    parser.add_argument("--skip-visibility", action="store_true")
    parser.add_argument("--quick", action="store_true", help="3 s runs, one sweep count, 2 visibility tries")
    parser.add_argument("--out", default=str(BENCH / "results"))
    args = parser.parse_args()
    if urlparse(args.broker_url).hostname not in ("127.0.0.1", "localhost"):
        parser.error("the broker must be on loopback")
    if args.quick:
        args.duration, args.closed_duration, args.sweep_workers, args.warmup = 3, 2, str(args.workers), 1
        args.repeat, args.sweep_repeat = 1, 1
        args.visibility_tries, args.burst_tries = 2, 1
    return args


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "prepare":
        prepare(sys.argv[2])
        return
    if len(sys.argv) == 3 and sys.argv[1] == "render":  # the report again, from a results .json
        report = json.loads(Path(sys.argv[2]).read_text())
        write_report(report, argparse.Namespace(**report["args"]), stem=Path(sys.argv[2]).stem)
        return
    args = parse_args()
    secret_key = secrets.token_urlsafe(50)
    env = server_env(args, secret_key)
    procs = Processes()
    started = datetime.datetime.now(datetime.UTC)
    report: dict = {"started": started.isoformat(timespec="seconds"), "args": vars(args), "load_start": loadavg()}
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmpdir:
        tmp = Path(tmpdir)
        try:
            log(f"load average {loadavg()}; setup")
            ensure_database(args, env)
            subprocess.run([PYTHON, str(BENCH / "load.py"), "prepare", str(tmp / "data.json")], env=env, check=True)
            data = json.loads((tmp / "data.json").read_text())
            report["registry"] = {"patients": data["n_patients"], "encounters_before": data["n_encounters"]}
            all_scenarios = [s for s in scenarios(data) if not args.only or args.only in s["name"]]

            # The full matrix at --workers; project and bare view of each endpoint back to back.
            log(f"gunicorn, {args.workers} workers")
            start_gunicorn(procs, env, args.port, args.workers, tmp)
            ping = {"name": "no query (bare ping)", "bare": PING}
            report["rows"] = measure_rounds(args.port, [*all_scenarios, ping], args, tmp, args.repeat, "")
            procs.stop("gunicorn")

            # The patient detail with each other worker count.
            sweep = []
            for workers in [int(w) for w in args.sweep_workers.split(",") if w and int(w) != args.workers]:
                log(f"sweep: gunicorn, {workers} workers")
                start_gunicorn(procs, env, args.port, workers, tmp)
                rows = measure_rounds(args.port, all_scenarios[:2], args, tmp, args.sweep_repeat, f"{workers}w ")
                sweep += [{"workers": workers, **row} for row in rows]
                procs.stop("gunicorn")
            sweep += [{"workers": args.workers, **row} for row in report["rows"][:2]]
            report["sweep"] = sorted(sweep, key=lambda row: (row["name"], row["workers"]))

            # A saved follow-up on the dashboard: gunicorn, a Celery worker and beat on Redis.
            if not args.skip_visibility:
                log("visibility: gunicorn, Celery worker and beat")
                start_gunicorn(procs, env, args.port, args.workers, tmp)
                celery = str(BIN / "celery")
                worker = [celery, "-A", "config", "worker", "--loglevel", "INFO", "--concurrency", "1"]
                procs.start("worker", worker, env, tmp / "worker.log")
                beat = [celery, "-A", "config", "beat", "--loglevel", "INFO", "-s", str(tmp / "beat-schedule")]
                procs.start("beat", beat, env, tmp / "beat.log")
                wait_quiet(args.database_url, args.quiet_seconds)  # the refresh the earlier writes asked for
                spare = data["procedures"][-(args.visibility_tries + 2 * args.burst_tries) :]
                report["visibility_quiet"] = visibility(
                    args.port, data, args, args.visibility_tries, burst=False, spare=spare
                )
                report["visibility_burst"] = visibility(
                    args.port, data, args, args.burst_tries, burst=True, spare=spare
                )
                report["refresh_ms"] = psql(
                    args.database_url, "SELECT last_duration_ms FROM analysis_refreshstate WHERE id = 1"
                )
        finally:
            procs.stop_all()
            failures = [p for p in ("gunicorn.log", "worker.log") if (tmp / p).exists()]
            for name in failures:
                text = (tmp / name).read_text(errors="replace")
                if "Traceback" in text:
                    log(f"{name} holds a traceback; its last lines:\n" + "\n".join(text.splitlines()[-15:]))
    report["load_end"] = loadavg()
    report["finished"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    write_report(report, args)


def write_report(report: dict, args, stem: str | None = None) -> None:
    header = (
        f"# Load benchmark, {report['started']} to {report['finished']}\n\n"
        f"{os.cpu_count()} cores; {versions()}.\n"
        f"Registry: {report['registry']['patients']:,} patients, {report['registry']['encounters_before']:,} "
        f"encounters at the start. Load average (1/5/15 min): start {report['load_start']}, "
        f"end {report['load_end']}.\n"
        f"Open model: {fmt(args.rate)} requests/s for {fmt(args.duration)} s (latency from the due time); "
        f"closed loop: {args.concurrency} connections for {args.closed_duration} s; {args.repeat} rounds over every "
        f"endpoint ({args.sweep_repeat} in the worker sweep), each round's project and bare view back to back, "
        f"after a warm-up of {getattr(args, 'warmup', 1)} s of closed loop per endpoint.\n"
    )
    parts = [header, f"## All endpoints, {args.workers} gunicorn workers\n", table(report["rows"], args.rate)]
    if report.get("sweep"):
        parts += ["\n## Patient detail by worker count\n", sweep_table(report["sweep"], args.rate)]
    if report.get("visibility_quiet") is not None:
        parts += [
            "\n## A saved follow-up on the dashboard (POST /api/encounters/ until /dashboard/status changes)\n",
            visibility_table(report["visibility_quiet"], report["visibility_burst"]),
            f"\nLast refresh took {report.get('refresh_ms')} ms (RefreshState.last_duration_ms).",
        ]
    text = "\n".join(parts) + "\n"
    print("\n" + text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or f"load-{report['started'][:16].replace(':', '').replace('-', '')}"
    (out / f"{stem}.md").write_text(text)
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    log(f"written {out / stem}.md and .json")


if __name__ == "__main__":
    main()
