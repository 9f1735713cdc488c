#!/usr/bin/env python3
"""Autobahn (RFC 6455) conformance driver for the `ws` runtime adapters.

For every selected adapter and role it runs the Autobahn TestSuite case files
through `kosoku` (a native re-implementation of the Autobahn fuzzing client and
server) and judges the per-case reports:

* server role: the adapter's echo server is started on a free loopback port
  and `kosoku -m fuzzingclient` connects to it;
* client role: `kosoku -m fuzzingserver` is started and the adapter's Autobahn
  client runs every case against it.

Every case must be OK. INFORMATIONAL cases pass, NON-STRICT, FAILED, ERROR and
missing cases fail, UNIMPLEMENTED cases fail unless their id matches one of the
`--allow-unimplemented` globs (permessage-deflate, 12.* and 13.*, by default).
kosoku's own exit status is ignored: it is 1 whenever any case is not OK.

Standard library only. Run from anywhere: paths are relative to the workspace
root, found from this file's location. See tests/autobahn/README.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

# --------------------------------------------------------------------------
# Configuration: adapters and the commands that run them.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Adapter:
    """A runtime adapter: its cargo package and its example-name prefix."""

    package: str
    rt: str


ADAPTERS: dict[str, Adapter] = {
    "tokio": Adapter(package="ws-tokio", rt="tokio"),
    "smol": Adapter(package="ws-smol", rt="smol"),
    "async-std": Adapter(package="ws-async-std", rt="async_std"),
    "std": Adapter(package="ws-std", rt="std"),
    # hyper does the HTTP/1.1 handshake in both roles; ws-core takes over the upgraded stream.
    "hyper": Adapter(package="ws-hyper", rt="hyper"),
}

# Command templates per role. Placeholders: {root} (workspace root), {rt},
# {adapter}, {port}, {url} (ws://127.0.0.1:{port}) and {agent}.
COMMANDS: dict[str, str] = {
    "server": "{root}/target/release/examples/{rt}_echo_server --port {port}",
    "client": "{root}/target/release/examples/{rt}_autobahn_client"
    " --url ws://127.0.0.1:{port} --agent {agent}",
}
ROLES = tuple(COMMANDS)

CARGO_BUILD = ["cargo", "build", "--release", "--examples"]
KOSOKU_REQUIREMENT = "kosoku==0.1.0"
DEFAULT_ALLOW_UNIMPLEMENTED = "12.*,13.*"  # permessage-deflate
DEFAULT_PARALLELISM = 2

# Timeouts, in seconds.
BUILD_TIMEOUT = 45 * 60
PIP_TIMEOUT = 10 * 60
LISTEN_TIMEOUT = 30  # until a started server accepts connections
SERVER_ROLE_TIMEOUT = 20 * 60  # the whole `kosoku -m fuzzingclient` run
CLIENT_ROLE_TIMEOUT = 15 * 60  # the whole client-under-test run
REPORT_GRACE = 30  # for fuzzingserver to write its reports and exit
STOP_GRACE = 5  # between SIGTERM and SIGKILL

FAILURES_SHOWN = 8  # failing cases printed per run (summary.json has all)

# Case verdicts, in table order; ERROR and MISSING are folded into FAILED
# in the README table.
OK, NON_STRICT, FAILED, UNIMPLEMENTED, INFORMATIONAL = (
    "OK",
    "NON-STRICT",
    "FAILED",
    "UNIMPLEMENTED",
    "INFORMATIONAL",
)
ERROR, MISSING = "ERROR", "MISSING"
VERDICTS = (OK, NON_STRICT, FAILED, UNIMPLEMENTED, INFORMATIONAL, ERROR, MISSING)
PASSING_CLOSE = {OK, INFORMATIONAL}
SEVERITY = (MISSING, ERROR, FAILED, UNIMPLEMENTED, NON_STRICT)  # failures, worst first

README_BEGIN = "<!-- autobahn:begin -->"
README_END = "<!-- autobahn:end -->"


class DriverError(Exception):
    """A setup problem that stops the whole driver (bad option, no venv...)."""


class RunError(Exception):
    """A problem that fails one (adapter, role) run."""


# --------------------------------------------------------------------------
# Paths and small helpers.
# --------------------------------------------------------------------------


def workspace_root() -> Path:
    """The Cargo workspace root: two levels above tests/autobahn/."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "Cargo.toml").is_file():
        raise DriverError(f"no Cargo.toml in {root}; is driver.py in tests/autobahn/?")
    return root


def split_globs(text: str) -> list[str]:
    """Split a comma-separated glob list, dropping empty items."""
    return [item.strip() for item in text.split(",") if item.strip()]


def glob_matches(pattern: str, case_id: str) -> bool:
    """Match a case id the way kosoku does: `*` is the only wildcard."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, case_id) is not None


def matches_any(patterns: list[str], case_id: str) -> bool:
    """Whether `case_id` matches at least one of `patterns`."""
    return any(glob_matches(pattern, case_id) for pattern in patterns)


def free_port() -> int:
    """A currently unused TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_accepts(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a log file, indented for printing."""
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return "    (no log)"
    return "\n".join("    " + line for line in text)


# --------------------------------------------------------------------------
# Child processes.
# --------------------------------------------------------------------------


def stop_process(process: subprocess.Popen) -> None:
    """Stop a child started by `spawn` (and its process group): TERM, then KILL."""
    if process.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, STOP_GRACE), (signal.SIGKILL, STOP_GRACE)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def spawn(command: list[str], log_path: Path, cwd: Path) -> Iterator[subprocess.Popen]:
    """Start `command` in its own process group with output to `log_path`.

    The process (group) is stopped when the block exits, however it exits.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        log.write(f"$ {shlex.join(command)}\n".encode())
        log.flush()
        try:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            raise RunError(f"cannot start {command[0]}: {error}") from error
        try:
            yield process
        finally:
            stop_process(process)


def run_logged(
    command: list[str], log_path: Path, cwd: Path, timeout: float, what: str = ""
) -> int:
    """Run `command` to completion (killed after `timeout` s); its exit code."""
    with spawn(command, log_path, cwd) as process:
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired as error:
            what = what or Path(command[0]).name
            raise RunError(f"{what} timed out after {timeout:.0f}s (log: {log_path})") from error


def wait_for_port(port: int, process: subprocess.Popen, what: str) -> None:
    """Wait until `port` accepts connections; fail if `process` exits first."""
    deadline = time.monotonic() + LISTEN_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RunError(f"{what} exited with code {process.returncode} before listening")
        if port_accepts(port):
            return
        time.sleep(0.1)
    raise RunError(f"{what} did not accept connections on port {port} within {LISTEN_TIMEOUT}s")


# --------------------------------------------------------------------------
# kosoku: its virtual environment and its case list.
# --------------------------------------------------------------------------


@dataclass
class Kosoku:
    """The kosoku installation the driver uses."""

    executable: Path
    version: str
    cases: list[str]  # every case id of the suite, in suite order


KOSOKU_PROBE = (
    "import json, importlib.metadata as m, kosoku.cases as c;"
    "print(json.dumps({'version': m.version('kosoku'), 'cases': list(c.CASES)}))"
)


def probe_kosoku(python: Path) -> dict | None:
    """kosoku's version and case ids in the venv, or None if not installed."""
    if not python.exists():
        return None
    try:
        result = subprocess.run(
            [str(python), "-c", KOSOKU_PROBE], capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        return None
    if result.returncode != 0:
        return None
    return json.loads(result.stdout)


def ensure_kosoku(root: Path, log_dir: Path) -> Kosoku:
    """Create target/autobahn-venv with kosoku pinned, unless already there."""
    venv = root / "target" / "autobahn-venv"
    python = venv / "bin" / "python"
    wanted = KOSOKU_REQUIREMENT.split("==")[1]
    probe = probe_kosoku(python)
    if probe is None or probe["version"] != wanted:
        print(f"installing {KOSOKU_REQUIREMENT} into {venv.relative_to(root)}", flush=True)
        log = log_dir / "venv.log"
        steps = [
            [sys.executable, "-m", "venv", str(venv)],
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
             KOSOKU_REQUIREMENT],  # fmt: skip
        ]
        for step in steps:
            try:
                code = run_logged(step, log, root, PIP_TIMEOUT)
            except RunError as error:
                raise DriverError(str(error)) from error
            if code != 0:
                raise DriverError(f"`{shlex.join(step)}` failed:\n{log_tail(log)}")
        probe = probe_kosoku(python)
        if probe is None:
            raise DriverError(f"kosoku still not importable in {venv}")
    return Kosoku(venv / "bin" / "kosoku", probe["version"], probe["cases"])


@dataclass
class Selection:
    """Which cases to run (kosoku `-i`/`-x` globs) and which ids that means."""

    include: list[str]
    exclude: list[str]
    case_ids: list[str]

    def kosoku_args(self) -> list[str]:
        """The `-i`/`-x` arguments for kosoku (both modes accept them)."""
        args: list[str] = []
        for pattern in self.include:
            args += ["-i", pattern]
        for pattern in self.exclude:
            args += ["-x", pattern]
        return args


def select_cases(all_cases: list[str], include: list[str], exclude: list[str]) -> Selection:
    """Resolve the globs against the suite, rejecting what kosoku would reject."""
    for pattern in include + exclude:
        if "*" not in pattern and pattern not in all_cases:
            raise DriverError(f"no such case: {pattern} (only `*` is a wildcard)")
    chosen = [c for c in all_cases if not include or matches_any(include, c)]
    chosen = [c for c in chosen if not matches_any(exclude, c)]
    if not chosen:
        raise DriverError("the case selection is empty")
    return Selection(include, exclude, chosen)


# --------------------------------------------------------------------------
# Building and the commands under test.
# --------------------------------------------------------------------------


def parse_overrides(entries: list[str]) -> dict[tuple[str, str], str]:
    """Parse `--command-override ADAPTER=ROLE:TEMPLATE` (ADAPTER may be `*`)."""
    overrides: dict[tuple[str, str], str] = {}
    by_rt = {adapter.rt: name for name, adapter in ADAPTERS.items()}
    for entry in entries:
        match = re.fullmatch(r"([^=]+)=(\w+):(.+)", entry, re.DOTALL)
        if not match:
            raise DriverError(f"bad --command-override {entry!r}: want ADAPTER=ROLE:TEMPLATE")
        name, role, template = match.groups()
        name = by_rt.get(name, name)
        if role not in ROLES or (name != "*" and name not in ADAPTERS):
            raise DriverError(f"bad --command-override {entry!r}: unknown adapter or role")
        names = list(ADAPTERS) if name == "*" else [name]
        overrides.update({(n, role): template for n in names})
    return overrides


def command_for(
    template: str, root: Path, adapter: str, port: int, agent: str
) -> list[str]:
    """Fill in a command template; the result is an argv list."""
    values = {
        "root": str(root),
        "rt": ADAPTERS[adapter].rt,
        "adapter": adapter,
        "port": port,
        "url": f"ws://127.0.0.1:{port}",
        "agent": agent,
    }
    return [word.format(**values) for word in shlex.split(template)]


def check_executable(command: list[str]) -> None:
    """Fail the run early, and clearly, when the binary under test is missing."""
    program = command[0]
    if "/" in program and not os.access(program, os.X_OK):
        raise RunError(f"{program} does not exist or is not executable (built? --no-build?)")


def build(root: Path, adapters: list[str], log_dir: Path) -> None:
    """`cargo build --release --examples` for the given adapters' packages."""
    command = list(CARGO_BUILD)
    for name in adapters:
        command += ["-p", ADAPTERS[name].package]
    log = log_dir / "build.log"
    print(f"building: {shlex.join(command)} (log: {log})", flush=True)
    try:
        code = run_logged(command, log, root, BUILD_TIMEOUT)
    except RunError as error:
        raise DriverError(str(error)) from error
    if code != 0:
        raise DriverError(f"cargo build failed with code {code}:\n{log_tail(log, 40)}")


# --------------------------------------------------------------------------
# Running one (adapter, role).
# --------------------------------------------------------------------------


@dataclass
class RunContext:
    """Everything a run needs besides the adapter and role."""

    root: Path
    out_dir: Path
    kosoku: Kosoku
    selection: Selection
    parallelism: int
    allow_unimplemented: list[str]
    overrides: dict[tuple[str, str], str]
    timeout_scale: float = 1.0

    def template(self, adapter: str, role: str) -> str:
        return self.overrides.get((adapter, role), COMMANDS[role])

    def report_dir(self, adapter: str, role: str) -> Path:
        return self.out_dir / "reports" / f"{ADAPTERS[adapter].rt}-{role}"

    def log_path(self, adapter: str, role: str, what: str) -> Path:
        return self.out_dir / "logs" / f"{ADAPTERS[adapter].rt}-{role}.{what}.log"


def agent_name(adapter: str) -> str:
    """The agent name the client under test reports to the fuzzing server."""
    return f"ws-{adapter}"


def run_server_role(ctx: RunContext, adapter: str, report_dir: Path) -> list[str]:
    """Fuzz the adapter's echo server with `kosoku -m fuzzingclient`; problems."""
    problems: list[str] = []
    port = free_port()
    server_cmd = command_for(ctx.template(adapter, "server"), ctx.root, adapter, port, "")
    check_executable(server_cmd)
    kosoku_cmd = [
        str(ctx.kosoku.executable), "-m", "fuzzingclient", f"127.0.0.1:{port}",
        "-p", str(ctx.parallelism), "-o", str(report_dir), *ctx.selection.kosoku_args(),
    ]  # fmt: skip
    server_log = ctx.log_path(adapter, "server", "server")
    with spawn(server_cmd, server_log, ctx.root) as server:
        wait_for_port(port, server, "echo server")
        kosoku_log = ctx.log_path(adapter, "server", "kosoku")
        timeout = SERVER_ROLE_TIMEOUT * ctx.timeout_scale
        code = run_logged(kosoku_cmd, kosoku_log, ctx.root, timeout, "kosoku fuzzingclient")
        if code not in (0, 1):  # 1 only means "some case is not OK"
            problems.append(f"kosoku exited with code {code} (log: {kosoku_log})")
        if (status := server.poll()) is not None:
            problems.append(f"echo server exited early with code {status} (log: {server_log})")
    return problems


def run_client_role(ctx: RunContext, adapter: str, report_dir: Path) -> list[str]:
    """Run the adapter's client against `kosoku -m fuzzingserver`; problems."""
    problems: list[str] = []
    port = free_port()
    agent = agent_name(adapter)
    client_cmd = command_for(ctx.template(adapter, "client"), ctx.root, adapter, port, agent)
    check_executable(client_cmd)
    kosoku_cmd = [
        str(ctx.kosoku.executable), "-m", "fuzzingserver", f"127.0.0.1:{port}",
        "-o", str(report_dir), *ctx.selection.kosoku_args(),
    ]  # fmt: skip
    client_log = ctx.log_path(adapter, "client", "client")
    with spawn(kosoku_cmd, ctx.log_path(adapter, "client", "kosoku"), ctx.root) as kosoku:
        wait_for_port(port, kosoku, "kosoku fuzzingserver")
        timeout = CLIENT_ROLE_TIMEOUT * ctx.timeout_scale
        try:
            code = run_logged(client_cmd, client_log, ctx.root, timeout, "client")
            if code != 0:
                problems.append(f"client exited with code {code} (log: {client_log})")
        except RunError as error:
            problems.append(str(error))
        # After a clean client exit kosoku may still be writing its reports.
        grace = REPORT_GRACE if not problems else 3
        problems += finish_fuzzingserver(kosoku, port, agent, grace)
    return problems


def finish_fuzzingserver(
    kosoku: subprocess.Popen, port: int, agent: str, grace: float
) -> list[str]:
    """Make the fuzzing server write its reports and exit.

    kosoku writes the client-role reports only when the client calls
    `/updateReports`, and exits right after; killed, it writes nothing. So if
    the client did not get that far, the driver asks for the reports itself.
    """
    with contextlib.suppress(subprocess.TimeoutExpired):
        kosoku.wait(timeout=grace)
        return []
    problem = "the client did not call /updateReports, so the driver did"
    if not request_update_reports(port, agent):
        problem += " (handshake failed)"
    try:
        kosoku.wait(timeout=REPORT_GRACE)
    except subprocess.TimeoutExpired:
        problem += f"; kosoku still did not exit within {REPORT_GRACE}s"
    return [problem]


def request_update_reports(port: int, agent: str) -> bool:
    """Open a WebSocket to `/updateReports?agent=AGENT`; whether it opened."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /updateReports?agent={agent} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    response = b""
    with contextlib.suppress(OSError):
        with socket.create_connection(("127.0.0.1", port), timeout=REPORT_GRACE) as sock:
            sock.sendall(request.encode())
            while b"\r\n\r\n" not in response:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                response += chunk
            sock.sendall(b"\x88\x80" + os.urandom(4))  # masked, empty close frame
            while sock.recv(4096):  # until kosoku closes
                pass
    return response.startswith(b"HTTP/1.1 101")


# --------------------------------------------------------------------------
# Reading and judging the reports.
# --------------------------------------------------------------------------


@dataclass
class CaseFailure:
    """One failing case, with kosoku's explanation."""

    id: str
    verdict: str
    behavior: str
    behavior_close: str
    description: str = ""
    result: str = ""
    result_close: str = ""


@dataclass
class RunResult:
    """The judged outcome of one (adapter, role) run."""

    adapter: str
    role: str
    expected_cases: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VERDICTS, 0))
    allowed_unimplemented: int = 0
    failures: list[CaseFailure] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    report_dir: str = ""

    @property
    def passed(self) -> bool:
        return not self.failures and not self.problems


def case_verdict(behavior: str, behavior_close: str) -> str:
    """Fold kosoku's `behavior` and `behaviorClose` into one verdict.

    A closing-handshake problem fails the case whatever `behavior` says;
    behaviors kosoku may add later count as FAILED.
    """
    if behavior == ERROR:
        return ERROR
    if behavior_close not in PASSING_CLOSE:
        return FAILED
    if behavior in (OK, NON_STRICT, UNIMPLEMENTED, INFORMATIONAL):
        return INFORMATIONAL if INFORMATIONAL in (behavior, behavior_close) else behavior
    return FAILED


def read_index(report_dir: Path) -> dict[str, dict]:
    """Case id -> index entry, over every agent in `index.json`.

    kosoku keys the index by agent: the server's `Server` header (server
    role), the `agent` the client reported (client role), or the address
    when a case could not connect at all.
    """
    try:
        index = json.loads((report_dir / "index.json").read_text())
    except (OSError, ValueError):
        return {}
    return {case_id: entry for cases in index.values() for case_id, entry in cases.items()}


def describe_failure(report_dir: Path, case_id: str, entry: dict, verdict: str) -> CaseFailure:
    """A CaseFailure with the texts from the case's own report file."""
    failure = CaseFailure(case_id, verdict, entry["behavior"], entry["behaviorClose"])
    with contextlib.suppress(OSError, ValueError, KeyError):
        report = json.loads((report_dir / entry["reportfile"]).read_text())
        failure.description = report.get("description", "")
        failure.result = report.get("result", "")
        failure.result_close = report.get("resultClose", "")
    return failure


def judge(result: RunResult, report_dir: Path, ctx: RunContext) -> None:
    """Count verdicts and collect failures from the reports in `report_dir`."""
    index = read_index(report_dir)
    for case_id in ctx.selection.case_ids:
        entry = index.get(case_id)
        if entry is None:
            result.counts[MISSING] += 1
            result.failures.append(CaseFailure(case_id, MISSING, "-", "-", result="no report"))
            continue
        verdict = case_verdict(entry["behavior"], entry["behaviorClose"])
        result.counts[verdict] += 1
        if verdict == UNIMPLEMENTED and matches_any(ctx.allow_unimplemented, case_id):
            result.allowed_unimplemented += 1
        elif verdict not in (OK, INFORMATIONAL):
            result.failures.append(describe_failure(report_dir, case_id, entry, verdict))
    unexpected = sorted(set(index) - set(ctx.selection.case_ids))
    if unexpected:
        result.problems.append(f"report has unselected cases: {', '.join(unexpected[:5])}")


def run_one(ctx: RunContext, adapter: str, role: str) -> RunResult:
    """Run one adapter in one role and judge its reports."""
    report_dir = ctx.report_dir(adapter, role)
    result = RunResult(adapter, role, len(ctx.selection.case_ids))
    result.report_dir = str(report_dir.relative_to(ctx.root))
    print(f"\n=== {adapter} / {role} ===", flush=True)
    clear_dir(report_dir)
    started = time.monotonic()
    try:
        runner = run_server_role if role == "server" else run_client_role
        result.problems += runner(ctx, adapter, report_dir)
    except RunError as error:
        result.problems.append(str(error))
    result.seconds = round(time.monotonic() - started, 1)
    judge(result, report_dir, ctx)
    print_run(result, ctx)
    return result


def clear_dir(directory: Path) -> None:
    """Empty `directory` (so stale reports never count), creating it if needed."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.iterdir():
        if path.is_file():
            path.unlink()


# --------------------------------------------------------------------------
# Output: console, summary.json, README table.
# --------------------------------------------------------------------------


def print_run(result: RunResult, ctx: RunContext) -> None:
    """Print one run's counts, allowances, problems and first failures."""
    counts = "  ".join(f"{v}={n}" for v, n in result.counts.items() if n or v in VERDICTS[:5])
    status = "PASS" if result.passed else "FAIL"
    print(f"{status} {result.adapter}/{result.role} in {result.seconds}s: {counts}")
    if result.allowed_unimplemented:
        print(
            f"  allowed {result.allowed_unimplemented} UNIMPLEMENTED cases matching "
            f"{','.join(ctx.allow_unimplemented)} (--allow-unimplemented)"
        )
    for problem in result.problems:
        print(f"  problem: {problem}")
    if result.counts[MISSING] == result.expected_cases:
        print(f"  no report: all {result.expected_cases} cases are missing")
        return
    worst_first = sorted(result.failures, key=lambda f: SEVERITY.index(f.verdict))
    for failure in worst_first[:FAILURES_SHOWN]:
        print(
            f"  {failure.id}: {failure.verdict} "
            f"(behavior={failure.behavior}, behaviorClose={failure.behavior_close})"
        )
        texts = dict.fromkeys((failure.description, failure.result, failure.result_close))
        for text in filter(None, texts):
            print(f"      {one_line(text)}")
    hidden = len(result.failures) - FAILURES_SHOWN
    if hidden > 0:
        print(f"  ... and {hidden} more failing cases (see summary.json, {result.report_dir}/)")


def one_line(text: str, width: int = 160) -> str:
    """kosoku's (HTML-ish, multi-line) case text as one short plain line."""
    text = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def write_summary(path: Path, results: list[RunResult], ctx: RunContext, date: str) -> None:
    """Write summary.json: settings plus every run with all its failures."""
    summary = {
        "date": date,
        "kosoku": ctx.kosoku.version,
        "cases": {"include": ctx.selection.include, "exclude": ctx.selection.exclude,
                  "count": len(ctx.selection.case_ids)},
        "allow_unimplemented": ctx.allow_unimplemented,
        "parallelism": ctx.parallelism,
        "runs": [{**asdict(r), "passed": r.passed} for r in results],
    }  # fmt: skip
    path.write_text(json.dumps(summary, indent=2) + "\n")


def markdown_table(results: list[RunResult], ctx: RunContext, date: str) -> list[str]:
    """The README block: a table of verdict counts plus provenance."""
    lines = [
        "| Adapter | Role | OK | NON-STRICT | FAILED | UNIMPLEMENTED | INFORMATIONAL | Result |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        failed = r.counts[FAILED] + r.counts[ERROR] + r.counts[MISSING]
        unimplemented = str(r.counts[UNIMPLEMENTED])
        if r.allowed_unimplemented:
            unimplemented += f" ({r.allowed_unimplemented} allowed)"
        verdict = "pass" if r.passed else "**fail**"
        cells = [r.adapter, r.role, r.counts[OK], r.counts[NON_STRICT], failed,
                 unimplemented, r.counts[INFORMATIONAL], verdict]  # fmt: skip
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    selection = ", ".join(ctx.selection.include) or "all"
    if ctx.selection.exclude:
        selection += " except " + ", ".join(ctx.selection.exclude)
    lines += [
        "",
        f"Autobahn TestSuite via kosoku {ctx.kosoku.version}, {date}; cases: {selection} "
        f"({len(ctx.selection.case_ids)}); UNIMPLEMENTED allowed for: "
        f"{', '.join(ctx.allow_unimplemented) or 'none'}. "
        "FAILED includes cases that errored or have no report.",
    ]
    return lines


def readme_markers(text: list[str], path: Path) -> tuple[int, int]:
    """Line indexes of the begin and end markers in a README."""
    try:
        begin = next(i for i, line in enumerate(text) if line.strip() == README_BEGIN)
        end = next(i for i, line in enumerate(text) if line.strip() == README_END and i > begin)
    except StopIteration:
        raise DriverError(f"{path} needs lines {README_BEGIN} and {README_END}") from None
    return begin, end


def update_readme(path: Path, block: list[str]) -> None:
    """Replace the lines between the autobahn markers in `path` with `block`."""
    lines = path.read_text().splitlines()
    begin, end = readme_markers(lines, path)
    path.write_text("\n".join(lines[: begin + 1] + block + lines[end:]) + "\n")


# --------------------------------------------------------------------------
# Command line.
# --------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The driver's options."""
    parser = argparse.ArgumentParser(
        description="Run the Autobahn conformance suite against the ws adapters."
    )
    parser.add_argument("--adapters", default=",".join(ADAPTERS),
                        help="comma-separated adapters (default: %(default)s)")
    parser.add_argument("--roles", default=",".join(ROLES),
                        help="comma-separated roles (default: %(default)s)")
    parser.add_argument("--cases", action="append", default=[], metavar="GLOB",
                        help="case id or `*` glob to run, repeatable (default: all)")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="case id or `*` glob to skip, repeatable")
    parser.add_argument("--parallelism", "-p", type=int, default=DEFAULT_PARALLELISM,
                        help="cases run in parallel in the server role (default: %(default)s)")
    parser.add_argument("--no-build", action="store_true",
                        help="use the binaries in target/release/examples as they are")
    parser.add_argument("--readme", type=Path, metavar="PATH",
                        help="rewrite the autobahn block of this markdown file")
    parser.add_argument("--allow-unimplemented", default=DEFAULT_ALLOW_UNIMPLEMENTED,
                        metavar="GLOBS",
                        help="comma-separated case globs that may be UNIMPLEMENTED "
                        "(default: %(default)s, permessage-deflate; '' for none)")
    parser.add_argument("--timeout-scale", type=float, default=1.0,
                        help="multiply the per-run timeouts (default: %(default)s)")
    parser.add_argument("--command-override", action="append", default=[],
                        help=argparse.SUPPRESS)  # ADAPTER=ROLE:TEMPLATE, for stand-ins
    args = parser.parse_args(argv)
    args.adapters = split_globs(args.adapters)
    args.roles = split_globs(args.roles)
    for name in args.adapters:
        if name not in ADAPTERS:
            parser.error(f"unknown adapter {name!r}; known: {', '.join(ADAPTERS)}")
    for role in args.roles:
        if role not in ROLES:
            parser.error(f"unknown role {role!r}; known: {', '.join(ROLES)}")
    if args.parallelism < 1:
        parser.error("--parallelism must be at least 1")
    return args


def adapters_to_build(args: argparse.Namespace, overrides: dict) -> list[str]:
    """Selected adapters that run at least one real (not overridden) binary."""
    return [a for a in args.adapters if any((a, r) not in overrides for r in args.roles)]


def prepare(args: argparse.Namespace) -> RunContext:
    """Everything before the runs: paths, venv, case selection, build."""
    root = workspace_root()
    out_dir = root / "target" / "autobahn"
    (out_dir / "logs").mkdir(parents=True, exist_ok=True)
    if args.readme:
        args.readme = args.readme.resolve()
        readme_markers(args.readme.read_text().splitlines(), args.readme)
    overrides = parse_overrides(args.command_override)
    kosoku = ensure_kosoku(root, out_dir / "logs")
    selection = select_cases(kosoku.cases, args.cases, args.exclude)
    packages = adapters_to_build(args, overrides)
    if packages and not args.no_build:
        build(root, packages, out_dir / "logs")
    return RunContext(
        root=root,
        out_dir=out_dir,
        kosoku=kosoku,
        selection=selection,
        parallelism=args.parallelism,
        allow_unimplemented=split_globs(args.allow_unimplemented),
        overrides=overrides,
        timeout_scale=args.timeout_scale,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the selected adapters and roles; 0 only if every run passed."""
    args = parse_args(argv)
    # Turn SIGTERM into SystemExit so the `finally` blocks stop every child.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        ctx = prepare(args)
    except (DriverError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        runs = len(args.adapters) * len(args.roles)
        print(f"0 passed, {runs} failed")
        return 1
    print(
        f"kosoku {ctx.kosoku.version}: {len(ctx.selection.case_ids)} cases; "
        f"UNIMPLEMENTED allowed for {','.join(ctx.allow_unimplemented) or 'no cases'}"
    )
    results = [run_one(ctx, a, r) for a in args.adapters for r in args.roles]

    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    summary_path = ctx.out_dir / "summary.json"
    write_summary(summary_path, results, ctx, date)
    table = markdown_table(results, ctx, date)
    print("\n" + "\n".join(table))
    print(f"\nsummary: {summary_path.relative_to(ctx.root)}")
    if args.readme:
        update_readme(args.readme, table)
        print(f"updated {args.readme}")
    passed = sum(r.passed for r in results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
