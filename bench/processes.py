"""The processes a benchmark run drives: the desk (`otc-desk serve --with-sim`) and the baseline."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from exchange_sim.config import DEMO_API_KEY, DEMO_API_SECRET
from gateway.settings import AcceptorSpec, SessionSpec, settings_text

REPO = Path(__file__).resolve().parents[1]
OTC_DESK = str(Path(sys.executable).with_name("otc-desk"))
VENUE_PORTS = (18081, 18082, 18083)
BENCH_QUOTE_RETENTION_S = 60
# The desk logs desk.vitals this often (the steady run reads its Python object count).
BENCH_VITALS_INTERVAL_S = 30

# The benchmark offers thousands of requests per second from one counterparty: the demo
# config's per-counterparty RFQ rate limit and daily credit would (rightly) refuse them.
_LIMIT_OVERRIDES = {
    r'rfq_rate_per_s = "[^"]*"': 'rfq_rate_per_s = "1000000"',
    r"rfq_burst = \d+": "rfq_burst = 1000000",
    r'credit_limit = "[^"]*"': 'credit_limit = "100000000000"',
    # The steady memory run must start with the quote book already holding a full retention
    # window (quotes are kept this long after they expire); a short window makes that a
    # warm-up of about a minute instead of ten (runner.STEADY_WARMUP_S).
    r"quote_retention_s = \d+": f"quote_retention_s = {BENCH_QUOTE_RETENTION_S}",
    r"vitals_interval_s = \d+": f"vitals_interval_s = {BENCH_VITALS_INTERVAL_S}",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def desk_config(workdir: Path, fix_port: int) -> Path:
    """config/desk.toml with this run's ports and directories and the benchmark's limits."""
    text = (REPO / "config" / "desk.toml").read_text(encoding="utf-8")
    text = text.replace('var_dir = "../var"', f'var_dir = "{workdir / "var"}"')
    text = text.replace('dictionary = "../fix_specs/', f'dictionary = "{REPO / "fix_specs"}/')
    text = re.sub(r'store_dir = "[^"]*"', f'store_dir = "{workdir / "var/fix/store"}"', text)
    text = re.sub(r'log_dir = "[^"]*"', f'log_dir = "{workdir / "var/fix/log"}"', text)
    text = text.replace("port = 9876", f"port = {fix_port}")
    for old in VENUE_PORTS:
        text = text.replace(f":{old}/", f":{free_port()}/").replace(f"port = {old}", "port = 0")
    for pattern, value in _LIMIT_OVERRIDES.items():
        text = re.sub(pattern, value, text)
    path = workdir / "desk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _fix_sim_ports(config: Path) -> None:
    """Give each simulated venue the port its desk venue entry points at."""
    text = config.read_text(encoding="utf-8")
    urls = re.findall(r'api_url = "http://127\.0\.0\.1:(\d+)/api/v3"', text)
    for port in urls:
        text = text.replace("port = 0", f"port = {port}", 1)
    config.write_text(text, encoding="utf-8")


class Running:
    """A child process with its output in a log file; stopped with SIGTERM on exit."""

    def __init__(self, command: list[str], log_path: Path, env: dict[str, str]) -> None:
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("wb")
        self.proc = subprocess.Popen(  # noqa: S603 - our own programs
            command, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=REPO
        )

    def wait_for(self, needles: list[bytes], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.log_path} exited:\n{self.log_path.read_text()[-3000:]}")
            text = self.log_path.read_bytes()
            if all(text.count(n) >= 1 for n in needles):
                return
            time.sleep(0.1)
        raise RuntimeError(f"not ready in {timeout}s: {self.log_path}")

    def rss_kib(self, field: str = "VmRSS") -> int:
        """Resident memory now (VmRSS) or at its peak (VmHWM), in KiB."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text(encoding="ascii")
        match = re.search(rf"{field}:\s+(\d+) kB", status)
        return int(match.group(1)) if match else 0

    def children_rss_kib(self) -> dict[str, int]:
        """Resident memory now of each child process (the desk's audit writer and hedger),
        by the module it runs (``-m …``) or its command."""
        found: dict[str, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text(encoding="ascii")
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                status = (entry / "status").read_text(encoding="ascii")
            except OSError:
                continue  # gone meanwhile
            if int(stat.rsplit(")", 1)[1].split()[1]) != self.proc.pid:
                continue
            name = argv[argv.index(b"-m") + 1].decode() if b"-m" in argv else argv[0].decode()
            match = re.search(r"VmRSS:\s+(\d+) kB", status)
            found[name] = int(match.group(1)) if match else 0
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()

    def __enter__(self) -> Running:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_desk(workdir: Path, database_url: str) -> tuple[Running, Running, int, Path]:
    """Migrate ``database_url``, start the simulator and the desk as two processes (as in
    production, the venues do not share the desk's interpreter); (desk, simulator, FIX port,
    config)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = desk_config(workdir, port)
    _fix_sim_ports(config)
    env = {
        **os.environ,
        "DESK_DATABASE_URL": database_url,
        "DESK_CONFIG": str(config),
        "DESK_SIM_API_KEY": DEMO_API_KEY,
        "DESK_SIM_API_SECRET": DEMO_API_SECRET,
    }
    subprocess.run([OTC_DESK, "db", "upgrade"], env=env, check=True, capture_output=True)  # noqa: S603
    sim = Running([OTC_DESK, "sim"], workdir / "sim.log", env)
    try:
        sim.wait_for([b'"sim.serving"'])
        desk = Running([OTC_DESK, "serve"], workdir / "desk.log", env)
        desk.wait_for([b'"gateway.listening"', b'"md.venue.ready"'])
    except BaseException:
        sim.stop()
        raise
    time.sleep(1.0)  # first books from every venue
    return desk, sim, port, config


def start_baseline(workdir: Path) -> tuple[Running, int]:
    """The bare acceptor with the desk's engine settings (file store and log, dictionary)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    spec = AcceptorSpec(
        desk_comp_id="OTCDESK",
        port=port,
        dictionary=REPO / "fix_specs" / "FIX44-desk.xml",
        store_dir=workdir / "store",
        log_dir=workdir / "log",
        heartbeat_s=30,
        non_stop=True,
        start_time="00:00:00",
        end_time="00:00:00",
        max_latency_s=120,
        sessions=(SessionSpec("CLIENT1"), SessionSpec("CLIENT2")),
    )
    settings = workdir / "baseline.cfg"
    settings.write_text(settings_text(spec), encoding="utf-8")
    proc = Running(
        [sys.executable, "-m", "bench.baseline_acceptor", "--settings", str(settings)],
        workdir / "baseline.log",
        dict(os.environ),
    )
    proc.wait_for([b"baseline.listening"])
    return proc, port


def run_load(port: int, scenario: str, **options: Any) -> dict[str, Any]:
    """Run the load client as its own process and return its JSON result."""
    command = [
        sys.executable,
        "-m",
        "bench.load_client",
        "--port",
        str(port),
        "--scenario",
        scenario,
    ]
    for key, value in options.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)  # noqa: S603
    try:
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise RuntimeError(f"load client failed: {done.stderr[-2000:]}") from None
    if "error" in result:
        raise RuntimeError(f"load client ({scenario} on {port}): {result['error']}")
    return result
