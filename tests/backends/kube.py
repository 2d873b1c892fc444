"""Build and run a real Kubernetes API server on loopback for the backend tests.

    python -m tests.backends.kube build [--force]
    python -m tests.backends.kube start [--root DIR] [--timeout SECONDS]
    python -m tests.backends.kube stop [--root DIR] [--timeout SECONDS]
    python -m tests.backends.kube clean

`build` compiles kube-apiserver from the k8s.io/kubernetes Go module, and
etcd from go.etcd.io/etcd/server/v3 at the version that Kubernetes pins for
its etcd client, both from tests/backends/kube-build/go.mod. It caches the
binaries under $XDG_CACHE_HOME/openshell-test-backends/kube (default
~/.cache/openshell-test-backends/kube), keyed on the files of that Go module,
the Go version and the link flags, so a second build returns at once.

`start` runs etcd and kube-apiserver on 127.0.0.1 with free ports and
per-run credentials: a self-signed CA, a serving certificate, an admin client
certificate in the system:masters group, a static admin token and a
service-account signing key. Authorization is RBAC. It waits for
/readyz, writes a kubeconfig and prints KEY=VALUE lines on stdout.
Everything lives under the root directory: --root, else
$OPENSHELL_TEST_ROOT/kube, else /tmp/openshell-test/kube.

`stop` sends SIGTERM (then SIGKILL) to the PIDs in the root's pidfiles, but
only to processes whose command line names that root, waits for them to exit
and removes everything under the root except logs/. Both start and stop are
idempotent. `clean` removes the build cache.

No kube-controller-manager runs, so nothing that a controller does happens:
namespaces stay Terminating after deletion, ownerReferences are not garbage
collected and no default service account is created in new namespaces.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.backends import paths

log = logging.getLogger("kube-backend")

GO_MODULE_DIR = Path(__file__).resolve().with_name("kube-build")
GO_FALLBACK = Path("/usr/local/go/bin/go")

DEFAULT_START_TIMEOUT = 120.0
DEFAULT_STOP_TIMEOUT = 30.0
# A cold build took 7.5 to 9 minutes on 2 cores (docs/test-backends.md),
# so the limit leaves room for a slower machine or a slow module download.
BUILD_TIMEOUT = 3600.0

# Stop order: the API server first, so it never runs without its store.
PROCESS_NAMES = ("kube-apiserver", "etcd")
ADMIN_USER = "openshell-admin"
LOG_TAIL_LINES = 40


class BackendError(RuntimeError):
    """A build, start or stop step failed; the message names the step and the cause."""


@dataclass(frozen=True)
class BuildResult:
    bin_dir: Path
    cached: bool
    seconds: float


# --- paths -----------------------------------------------------------------


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "openshell-test-backends" / "kube"


class RootLayout:
    """Paths of one API server instance under its root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.logs = self.root / "logs"
        self.pki = self.root / "pki"
        self.run = self.root / "run"
        self.etcd_data = self.root / "etcd-data"
        self.kubeconfig = self.root / "kubeconfig"
        self.env_file = self.root / "env"
        self.token_file = self.pki / "admin-token"
        self.lock_file = self.root / ".lock"

    def pidfile(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.logs / f"{name}.log"


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive flock on path, so concurrent runs take turns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def find_go() -> Path:
    found = shutil.which("go")
    if found:
        return Path(found)
    if GO_FALLBACK.exists():
        return GO_FALLBACK
    raise BackendError(
        f"go not found on PATH or at {GO_FALLBACK}; install Go 1.26 or newer"
    )


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:])


# --- build -----------------------------------------------------------------


def kubernetes_version() -> str:
    go_mod = (GO_MODULE_DIR / "go.mod").read_text()
    match = re.search(r"^\s*k8s\.io/kubernetes (v\d+\.\d+\.\d+)\b", go_mod, re.M)
    if match is None:
        raise BackendError(
            f"no k8s.io/kubernetes requirement in {GO_MODULE_DIR}/go.mod"
        )
    return match.group(1)


def version_ldflags(version: str) -> str:
    # The -X flags of the upstream release build (hack/lib/version.sh in
    # k8s.io/kubernetes), so /version reports the release in go.mod.
    major, minor, _ = version.lstrip("v").split(".")
    flags = ["-s", "-w"]
    for package in ("k8s.io/client-go/pkg/version", "k8s.io/component-base/version"):
        flags += [
            f"-X {package}.gitVersion={version}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
        ]
    return " ".join(flags)


def go_environment(go: Path) -> dict[str, str]:
    cache = cache_dir()
    env = dict(os.environ)
    env.update(
        GOMODCACHE=str(cache / "gomod"),
        GOCACHE=str(cache / "gocache"),
        GOPATH=str(cache / "gopath"),
        GOTOOLCHAIN="local",
        GOFLAGS="-buildvcs=false -modcacherw",
        PATH=f"{go.parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def build_key(go: Path, ldflags: str) -> str:
    """Hash the Go module's files, the Go version and the link flags."""
    go_version = subprocess.run(
        [str(go), "env", "GOVERSION", "GOOS", "GOARCH"],
        check=True,
        capture_output=True,
        text=True,
        env=go_environment(go),
    ).stdout
    digest = hashlib.sha256()
    for path in sorted(GO_MODULE_DIR.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(GO_MODULE_DIR)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(go_version.encode() + b"\0" + ldflags.encode())
    return digest.hexdigest()[:16]


def build(force: bool = False) -> BuildResult:
    """Compile kube-apiserver and etcd unless the cache contains them for this key."""
    go = find_go()
    version = kubernetes_version()
    ldflags = version_ldflags(version)
    key = build_key(go, ldflags)
    bin_dir = cache_dir() / "bin" / f"{version}-{key}"

    with file_lock(cache_dir() / "build.lock"):
        if all((bin_dir / name).exists() for name in PROCESS_NAMES) and not force:
            log.info("using cached kube-apiserver %s and etcd in %s", version, bin_dir)
            return BuildResult(bin_dir, cached=True, seconds=0.0)

        partial = bin_dir.with_name(bin_dir.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        build_log = cache_dir() / "build.log"
        log.info("building kube-apiserver %s and etcd (log: %s)", version, build_log)
        started = time.monotonic()
        # With several packages, -o names a directory that receives one
        # binary per package, named after the package's directory.
        command = [
            str(go),
            "build",
            "-trimpath",
            f"-ldflags={ldflags}",
            "-o",
            f"{partial}/",
            "k8s.io/kubernetes/cmd/kube-apiserver",
            "./etcd",
        ]
        with open(build_log, "w") as output:
            try:
                result = subprocess.run(
                    command,
                    cwd=GO_MODULE_DIR,
                    env=go_environment(go),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    timeout=BUILD_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired as error:
                raise BackendError(
                    f"go build timed out after {BUILD_TIMEOUT:.0f} s;"
                    f" end of {build_log}:\n{tail(build_log)}"
                ) from error
        if result.returncode != 0:
            raise BackendError(
                f"go build failed with exit code {result.returncode};"
                f" end of {build_log}:\n{tail(build_log)}"
            )
        shutil.rmtree(bin_dir, ignore_errors=True)
        partial.rename(bin_dir)
        # Binaries of other keys are stale. The Go build cache stays, so
        # switching back to an older go.mod rebuilds in seconds.
        for stale in bin_dir.parent.iterdir():
            if stale != bin_dir:
                log.info("removing stale binaries %s", stale)
                shutil.rmtree(stale, ignore_errors=True)
        seconds = time.monotonic() - started
        log.info("built kube-apiserver %s and etcd in %.1f s", version, seconds)
        return BuildResult(bin_dir, cached=False, seconds=seconds)


def clean() -> None:
    """Remove the Go caches and built binaries."""
    cache = cache_dir()
    if cache.exists():
        log.info("removing %s", cache)
        shutil.rmtree(cache)


# --- credentials -----------------------------------------------------------


def openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(
        ["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackendError(
            f"openssl {args[0]} failed with exit code {result.returncode}: "
            f"{result.stderr.strip()}"
        )


def issue_certificate(
    pki: Path, name: str, subject: str, extensions: list[str]
) -> None:
    """Create name.key and name.crt, signed by ca.key, valid for 7 days."""
    (pki / f"{name}.ext").write_text("\n".join(extensions) + "\n")
    openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
        cwd=pki,
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-set_serial", str(secrets.randbits(63)), "-days", "7",
        "-extfile", f"{name}.ext", "-out", f"{name}.crt",
        cwd=pki,
    )  # fmt: skip
    (pki / f"{name}.csr").unlink()
    (pki / f"{name}.ext").unlink()


def create_credentials(layout: RootLayout) -> None:
    pki = layout.pki
    pki.mkdir(mode=0o700, parents=True)
    old_umask = os.umask(0o077)
    try:
        openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "7",
            "-subj", "/CN=openshell-test-kube-ca",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=pki,
        )  # fmt: skip
        issue_certificate(
            pki,
            "apiserver",
            "/CN=kube-apiserver",
            [
                "basicConstraints=critical,CA:FALSE",
                "keyUsage=critical,digitalSignature",
                "extendedKeyUsage=serverAuth",
                "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,"
                "DNS:kubernetes.default,DNS:kubernetes.default.svc",
            ],
        )
        issue_certificate(
            pki,
            "admin",
            f"/O=system:masters/CN={ADMIN_USER}",
            [
                "basicConstraints=critical,CA:FALSE",
                "keyUsage=critical,digitalSignature",
                "extendedKeyUsage=clientAuth",
            ],
        )
        openssl(
            "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", "service-account.key",
            cwd=pki,
        )  # fmt: skip
        openssl(
            "pkey", "-in", "service-account.key", "-pubout",
            "-out", "service-account.pub",
            cwd=pki,
        )  # fmt: skip
        token = secrets.token_hex(32)
        layout.token_file.write_text(token + "\n")
        # Static token file format: token,user,uid,"group1,group2".
        (pki / "tokens.csv").write_text(
            f'{token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n'
        )
    finally:
        os.umask(old_umask)


def write_kubeconfig(layout: RootLayout, url: str) -> None:
    # JSON is valid YAML, so every kubeconfig reader accepts this file.
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "openshell-test",
                "cluster": {
                    "server": url,
                    "certificate-authority": str(layout.pki / "ca.crt"),
                },
            }
        ],
        "users": [
            {
                "name": ADMIN_USER,
                "user": {
                    "client-certificate": str(layout.pki / "admin.crt"),
                    "client-key": str(layout.pki / "admin.key"),
                },
            }
        ],
        "contexts": [
            {
                "name": "openshell-test",
                "context": {
                    "cluster": "openshell-test",
                    "user": ADMIN_USER,
                    "namespace": "default",
                },
            }
        ],
        "current-context": "openshell-test",
    }
    layout.kubeconfig.write_text(json.dumps(config, indent=2) + "\n")
    layout.kubeconfig.chmod(0o600)


# --- processes -------------------------------------------------------------


def free_port() -> int:
    # NOTE: the port is free when checked, but another process may take it
    # before the server binds it. The server then exits and start fails with
    # the end of its log.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def process_state(pid: int) -> str | None:
    """Return the state letter from /proc/PID/stat, or None if there is no such PID."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name in brackets may contain spaces, so split after it.
    return stat.rsplit(")", 1)[1].split()[0]


def is_running(pid: int) -> bool:
    # A zombie has exited. If it is our own child, reap it here.
    state = process_state(pid)
    if state == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return state is not None


def is_ours(pid: int, layout: RootLayout) -> bool:
    """Tell whether pid is alive and its command line names this root.

    The check keeps stop from signalling an unrelated process that reused
    the PID of a server that already exited.
    """
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # Every server argument list contains paths below the root.
    return is_running(pid) and f"{layout.root}/".encode() in cmdline


def spawn(layout: RootLayout, name: str, command: list[str]) -> int:
    log_path = layout.log_file(name)
    with open(log_path, "wb") as output:
        # A new session keeps the server alive after this command exits and
        # out of the terminal's process group, so Ctrl-C does not reach it.
        process = subprocess.Popen(
            command,
            cwd=layout.root,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    layout.pidfile(name).write_text(f"{process.pid}\n")
    log.info("started %s (pid %d, log: %s)", name, process.pid, log_path)
    return process.pid


def wait_until(
    check: Callable[[], bool],
    *,
    name: str,
    pid: int,
    layout: RootLayout,
    deadline: float,
) -> None:
    """Poll check until it returns True; fail if the process exits or time runs out."""
    while True:
        if check():
            return
        if not is_running(pid):
            raise BackendError(
                f"{name} (pid {pid}) exited during start-up; end of "
                f"{layout.log_file(name)}:\n{tail(layout.log_file(name))}"
            )
        if time.monotonic() > deadline:
            raise BackendError(
                f"{name} (pid {pid}) not ready before the start deadline; end of "
                f"{layout.log_file(name)}:\n{tail(layout.log_file(name))}"
            )
        time.sleep(0.25)


def http_ok(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def admin_ssl_context(layout: RootLayout) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(layout.pki / "ca.crt"))
    context.load_cert_chain(layout.pki / "admin.crt", layout.pki / "admin.key")
    return context


def start_etcd(layout: RootLayout, etcd: Path, deadline: float) -> tuple[int, str]:
    client_port, peer_port = free_port(), free_port()
    client_url = f"http://127.0.0.1:{client_port}"
    peer_url = f"http://127.0.0.1:{peer_port}"
    layout.etcd_data.mkdir(mode=0o700)
    pid = spawn(
        layout,
        "etcd",
        [
            str(etcd),
            "--name=openshell-test",
            f"--data-dir={layout.etcd_data}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=openshell-test={peer_url}",
            "--initial-cluster-state=new",
            # The store is thrown away at stop, so durability buys nothing.
            "--unsafe-no-fsync",
            "--logger=zap",
            "--log-outputs=stderr",
        ],
    )
    wait_until(
        lambda: http_ok(f"{client_url}/health"),
        name="etcd",
        pid=pid,
        layout=layout,
        deadline=deadline,
    )
    return pid, client_url


def start_apiserver(
    layout: RootLayout, apiserver: Path, etcd_url: str, deadline: float
) -> tuple[int, str]:
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    pki = layout.pki
    pid = spawn(
        layout,
        "kube-apiserver",
        [
            str(apiserver),
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={pki}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--token-auth-file={pki / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            "--anonymous-auth=false",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={pki / 'service-account.pub'}",
            f"--service-account-signing-key-file={pki / 'service-account.key'}",
            # Cluster IPs are only recorded in Service objects: no proxy runs,
            # so nothing ever sends traffic to this range.
            "--service-cluster-ip-range=10.96.0.0/24",
            # Endpoints validation rejects loopback addresses, so the reconciler
            # could not publish 127.0.0.1 for the kubernetes Service.
            "--endpoint-reconciler-type=none",
            "--profiling=false",
            "--v=1",
        ],
    )
    context = admin_ssl_context(layout)
    wait_until(
        lambda: http_ok(f"{url}/readyz", context),
        name="kube-apiserver",
        pid=pid,
        layout=layout,
        deadline=deadline,
    )
    return pid, url


def environment_lines(layout: RootLayout) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in layout.env_file.read_text().splitlines():
        key, _, value = line.partition("=")
        env[key] = value
    return env


def running_instance(layout: RootLayout) -> dict[str, str] | None:
    """Return the KEY=VALUE map of a healthy running instance, else None."""
    if not layout.env_file.exists():
        return None
    for name in PROCESS_NAMES:
        pid = read_pid(layout.pidfile(name))
        if pid is None or not is_ours(pid, layout):
            return None
    env = environment_lines(layout)
    if not http_ok(f"{env['APISERVER_URL']}/readyz", admin_ssl_context(layout)):
        return None
    return env


def start(root: Path, timeout: float = DEFAULT_START_TIMEOUT) -> dict[str, str]:
    """Start etcd and kube-apiserver under root, or return the running pair."""
    layout = RootLayout(root)
    layout.root.mkdir(parents=True, exist_ok=True)
    with file_lock(layout.lock_file):
        existing = running_instance(layout)
        if existing is not None:
            log.info("kube-apiserver already running under %s", layout.root)
            return existing
        # Clear what an earlier run left: stale pidfiles, data, credentials.
        stop_locked(layout, DEFAULT_STOP_TIMEOUT)

        bin_dir = build().bin_dir
        deadline = time.monotonic() + timeout
        layout.logs.mkdir(exist_ok=True)
        layout.run.mkdir(exist_ok=True)
        try:
            create_credentials(layout)
            etcd_pid, etcd_url = start_etcd(layout, bin_dir / "etcd", deadline)
            apiserver_pid, url = start_apiserver(
                layout, bin_dir / "kube-apiserver", etcd_url, deadline
            )
            write_kubeconfig(layout, url)
        except BaseException:
            stop_locked(layout, DEFAULT_STOP_TIMEOUT, keep_state=True)
            raise

        env = {
            "KUBECONFIG": str(layout.kubeconfig),
            "APISERVER_URL": url,
            "APISERVER_PID": str(apiserver_pid),
            "APISERVER_CA_FILE": str(layout.pki / "ca.crt"),
            "APISERVER_TOKEN_FILE": str(layout.token_file),
            "APISERVER_LOG": str(layout.log_file("kube-apiserver")),
            "APISERVER_BINARY": str(bin_dir / "kube-apiserver"),
            "ETCD_URL": etcd_url,
            "ETCD_BINARY": str(bin_dir / "etcd"),
            "ETCD_PID": str(etcd_pid),
            "ETCD_LOG": str(layout.log_file("etcd")),
            "KUBE_ROOT": str(layout.root),
        }
        layout.env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        log.info("kube-apiserver ready at %s", url)
        return env


def terminate(pid: int, name: str, timeout: float) -> None:
    """Send SIGTERM, then SIGKILL after timeout, and wait for pid to exit."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        log.info("sending %s to %s (pid %d)", sig.name, name, pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not is_running(pid):
                log.info("stopped %s (pid %d)", name, pid)
                return
            time.sleep(0.1)
    raise BackendError(f"{name} (pid {pid}) still running after SIGKILL")


def stop_locked(layout: RootLayout, timeout: float, keep_state: bool = False) -> None:
    for name in PROCESS_NAMES:
        pidfile = layout.pidfile(name)
        pid = read_pid(pidfile)
        if pid is not None and is_ours(pid, layout):
            terminate(pid, name, timeout)
        elif pid is not None:
            log.info("%s (pid %d) is not running", name, pid)
        pidfile.unlink(missing_ok=True)
    if keep_state:
        return
    for path in (layout.run, layout.etcd_data, layout.pki):
        shutil.rmtree(path, ignore_errors=True)
    for path in (layout.kubeconfig, layout.env_file):
        path.unlink(missing_ok=True)


def stop(root: Path, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
    """Stop the processes started under root and remove all but its logs."""
    layout = RootLayout(root)
    if not layout.root.exists():
        log.info("nothing to stop: %s does not exist", layout.root)
        return
    with file_lock(layout.lock_file):
        stop_locked(layout, timeout)


# --- command line ----------------------------------------------------------


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.backends.kube",
        description="Build, start and stop a real Kubernetes API server on loopback.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    build_parser = commands.add_parser(
        "build", help="build kube-apiserver and etcd (cached)"
    )
    build_parser.add_argument(
        "--force", action="store_true", help="rebuild even if the binaries are cached"
    )

    for name, help_text, default_timeout in (
        ("start", "start etcd and kube-apiserver", DEFAULT_START_TIMEOUT),
        ("stop", "stop the processes that start launched", DEFAULT_STOP_TIMEOUT),
    ):
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument(
            "--root",
            type=Path,
            default=None,
            help="directory for data, credentials and logs "
            "(default: $OPENSHELL_TEST_ROOT/kube, else /tmp/openshell-test/kube)",
        )
        sub.add_argument(
            "--timeout",
            type=float,
            default=default_timeout,
            help=f"seconds to wait (default: {default_timeout:.0f})",
        )

    commands.add_parser("clean", help="remove the Go caches and built binaries")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr
    )
    arguments = parse_arguments(argv)
    try:
        if arguments.command == "build":
            result = build(force=arguments.force)
            print(f"APISERVER_BINARY={result.bin_dir / 'kube-apiserver'}")
            print(f"ETCD_BINARY={result.bin_dir / 'etcd'}")
            print(f"BUILD_CACHED={'true' if result.cached else 'false'}")
            print(f"BUILD_SECONDS={result.seconds:.1f}")
        elif arguments.command == "start":
            root = arguments.root or paths.backend_dir("kube")
            for key, value in start(root, arguments.timeout).items():
                print(f"{key}={value}")
        elif arguments.command == "stop":
            stop(arguments.root or paths.backend_dir("kube"), arguments.timeout)
        else:
            clean()
    except (BackendError, paths.BackendError, OSError) as error:
        log.error("%s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
