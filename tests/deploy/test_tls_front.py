"""The deployment kit, run: Debian's nginx with deploy/nginx/*.conf in front of a real gunicorn, probed with openssl.

The files are used as shipped; only what must differ on a test machine is replaced (ports on the loopback,
the throwaway certificate's paths, log and temporary folders, the code's folder). ``nginx -t`` checks them,
``openssl s_client`` checks that TLS 1.0/1.1 and suites outside the CRYPTREC-based list are refused while the
listed ones work, and requests through the front reach the app with the proxy headers it trusts. The systemd
units pass ``systemd-analyze verify`` and the logrotate file ``logrotate --debug``.
"""
from __future__ import annotations

import datetime
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from elibrary import create_app
from tests.conftest import make_test_config
from tests.monitoring.servers import free_port, gunicorn

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
NGINX, OPENSSL = shutil.which("nginx") or "/usr/sbin/nginx", shutil.which("openssl")
SITE, CONTENT = "library.example.jp", "books.library.example.jp"
LISTED_TLS12 = ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384"]  # the RSA ones (our certificate is RSA)
LISTED_TLS13 = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"]
needs_nginx = pytest.mark.skipif(not os.path.exists(NGINX) or OPENSSL is None, reason="nginx or openssl missing: apt-get install nginx (make system-packages)")


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A throwaway self-signed RSA-2048 certificate for both host names."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SITE)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(SITE), x509.DNSName(CONTENT)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def render_kit(work: Path, cert: Path, key: Path, app_port: int, tls_port: int, http_port: int, maintenance: Path) -> Path:
    """The kit's files with the test machine's ports and paths; returns the main nginx.conf."""
    # The checkout may sit under a path with spaces (CI clones into one); nginx directives take unquoted paths
    # in the kit, so the app is reached through a symlink without any.
    app = work / "app"
    if not app.exists():
        app.symlink_to(ROOT, target_is_directory=True)
    if maintenance.is_relative_to(ROOT):
        maintenance = app / maintenance.relative_to(ROOT)
    replacements = [
        ("/etc/nginx/snippets/elibrary-", f"{work}/elibrary-"),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{tls_port} ssl http2;"),
        ("listen [::]:443 ssl http2;", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;", ""),
        ("/etc/ssl/elibrary/fullchain.pem", str(cert)),
        ("/etc/ssl/elibrary/chain.pem", str(cert)),
        ("/etc/ssl/elibrary/privkey.pem", str(key)),
        ("/var/log/nginx/", f"{work}/"),
        ("/opt/elibrary/app/deploy/maintenance/", f"{maintenance}/"),
        ("/opt/elibrary/app/", f"{app}/"),
    ]
    for source in sorted((DEPLOY / "nginx").glob("*.conf")):
        text = source.read_text()
        for old, new in replacements:
            text = text.replace(old, new)
        (work / source.name).write_text(text)
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers must read the test's private temporary folder
    main = work / "nginx.conf"
    temp = "".join(f"{kind}_temp_path {work}/{kind}_temp;\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main.write_text(f"{user}daemon off;\nworker_processes 1;\npid {work}/nginx.pid;\nerror_log {work}/error.log info;\n"
                    f"events {{ worker_connections 64; }}\nhttp {{\ninclude /etc/nginx/mime.types;\n{temp}include {work}/elibrary.conf;\n}}\n")
    return main


def s_client(port: int, *args: str) -> subprocess.CompletedProcess:
    """One handshake with ``openssl s_client``; the client itself allows old protocols (SECLEVEL=0, no system config)."""
    env = {**os.environ, "OPENSSL_CONF": "/dev/null"}
    command = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", SITE, *args]
    return subprocess.run(command, input=b"", capture_output=True, timeout=30, env=env)


def negotiated(result: subprocess.CompletedProcess) -> tuple[str, str] | None:
    """(protocol, cipher) when the handshake succeeded, else None."""
    out = result.stdout.decode(errors="replace")
    cipher = re.search(r"Cipher is (\S+)", out)
    protocol = re.search(r"^(?:New, )?(TLSv[\d.]+), Cipher is", out, re.M) or re.search(r"Protocol\s*:\s*(\S+)", out)
    if result.returncode != 0 or not cipher or cipher.group(1) == "(NONE)":
        return None
    return (protocol.group(1) if protocol else "?"), cipher.group(1)


def assert_the_client_speaks_tls10(cert: Path, key: Path) -> None:
    """The control: against a server that allows it, the same client does negotiate TLS 1.0 (so a refusal is nginx's)."""
    port = free_port()
    server = subprocess.Popen([OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key), "-tls1",
                               "-cipher", "ALL:@SECLEVEL=0", "-www"], env={**os.environ, "OPENSSL_CONF": "/dev/null"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, server, Path("/dev/null"))
        result = negotiated(s_client(port, "-tls1", "-cipher", "ALL:@SECLEVEL=0"))
        assert result is not None and result[0] == "TLSv1.0", result
    finally:
        server.kill()
        server.wait(timeout=30)


def https(port: int, host: str, path: str, cert: Path, **headers: str) -> http.client.HTTPResponse:
    """A GET through the front to ``host`` (SNI and Host header), trusting only the throwaway certificate."""
    context = ssl.create_default_context(cafile=str(cert))
    raw = socket.create_connection(("127.0.0.1", port), timeout=60)
    connection = http.client.HTTPSConnection(host, port, context=context, timeout=60)
    connection.sock = context.wrap_socket(raw, server_hostname=host)
    connection.request("GET", path, headers={"Host": host, **headers})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(log.read_text() if log.exists() else "nginx did not start")


@pytest.fixture
def maintenance_folder(tmp_path) -> Path:
    """deploy/maintenance/ when the kit has its page; otherwise a stand-in with the same file name."""
    if (DEPLOY / "maintenance" / "index.html").exists():
        return DEPLOY / "maintenance"
    folder = tmp_path / "maintenance"
    folder.mkdir()
    (folder / "index.html").write_text("<!doctype html><html lang=ja><title>メンテナンス中</title><h1>メンテナンス中です</h1></html>", encoding="utf-8")
    return folder


@needs_nginx
@pytest.mark.slow
def test_nginx_front_refuses_old_tls_and_unlisted_suites_and_serves_the_app(tmp_path, database_url, maintenance_folder):
    work = tmp_path / "nginx"
    work.mkdir()
    cert, key = make_certificate(work)
    config = make_test_config(tmp_path / "instance", database_url, ELIBRARY_NOTIFIER="log", ELIBRARY_TRUSTED_PROXIES=1,
                              ELIBRARY_PUBLIC_URL=f"https://{SITE}", ELIBRARY_CONTENT_URL=f"https://{CONTENT}")
    create_app(config).extensions["elibrary"].db.dispose()
    tls_port, http_port = free_port(), free_port()
    with gunicorn(config, tmp_path, workers=1) as base:
        app_port = int(base.rsplit(":", 1)[1])
        main = render_kit(work, cert, key, app_port, tls_port, http_port, maintenance_folder)
        check = subprocess.run([NGINX, "-t", "-c", str(main), "-p", str(work), "-e", str(work / "error.log")], capture_output=True, timeout=60)
        assert check.returncode == 0, check.stderr.decode()
        nginx = subprocess.Popen([NGINX, "-c", str(main), "-p", str(work), "-e", str(work / "error.log")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(tls_port, nginx, work / "error.log")
            assert_the_client_speaks_tls10(cert, key)
            # Refused: old protocols, and suites outside the list (CBC, RSA key exchange, ChaCha20).
            for args in (["-tls1", "-cipher", "ALL:@SECLEVEL=0"], ["-tls1_1", "-cipher", "ALL:@SECLEVEL=0"],
                         ["-tls1_2", "-cipher", "AES128-GCM-SHA256:AES256-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA384"],
                         ["-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256"],
                         ["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"]):
                assert negotiated(s_client(tls_port, *args)) is None, args
            # Accepted: each listed suite, by itself.
            for suite in LISTED_TLS12:
                assert negotiated(s_client(tls_port, "-tls1_2", "-cipher", suite)) == ("TLSv1.2", suite)
            for suite in LISTED_TLS13:
                assert negotiated(s_client(tls_port, "-tls1_3", "-ciphersuites", suite)) == ("TLSv1.3", suite)

            # The app through the front: proxy headers trusted, one HSTS header, nginx's request id.
            home = https(tls_port, SITE, "/", cert)
            assert home.status == 200 and "電子図書館" in home.body.decode()
            assert home.headers.get_all("Strict-Transport-Security") == ["max-age=63072000"]
            assert re.fullmatch(r"[0-9a-f]{32}", home.headers["X-Request-ID"])
            assert https(tls_port, SITE, "/staff/login", cert).status == 200
            assert https(tls_port, SITE, "/metrics", cert).status == 200  # from 127.0.0.1, allowed by nginx and the app
            assert https(tls_port, SITE, "/metrics", cert, **{"X-Forwarded-For": "10.0.0.1"}).status == 200  # replaced by nginx
            assert https(tls_port, CONTENT, "/staff/login", cert).status == 404  # staff pages never on the content origin
            static = https(tls_port, SITE, "/static/css/site.css", cert) if (ROOT / "elibrary/static/css/site.css").exists() else None
            if static is not None:
                assert static.status == 200 and static.headers["Strict-Transport-Security"]
            https(tls_port, SITE, "/search?q=nginx-log-canary", cert)
            with socket.create_connection(("127.0.0.1", http_port), timeout=30) as plain:
                plain.sendall(f"GET /titles/1 HTTP/1.1\r\nHost: {SITE}\r\nConnection: close\r\n\r\n".encode())
                answer = plain.recv(4096).decode()
            assert answer.startswith("HTTP/1.1 301") and f"Location: https://{SITE}/titles/1" in answer
        except BaseException:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(timeout=30)
            raise
    try:
        # gunicorn stopped: nginx answers with the maintenance page itself.
        down = https(tls_port, SITE, "/", cert)
        assert down.status == 503 and down.headers["Retry-After"] == "600" and "メンテナンス" in down.body.decode()
        assert down.headers.get_all("Strict-Transport-Security") == ["max-age=63072000"]
    finally:
        nginx.send_signal(signal.SIGQUIT)
        nginx.wait(timeout=30)
    access = (work / "elibrary-access.log").read_text()
    assert "GET /search HTTP/" in access and "nginx-log-canary" not in access and re.search(r" [0-9a-f]{32}$", access.splitlines()[-1])


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze missing (Debian package systemd)")
    # The units name /opt/elibrary/venv/bin: this virtualenv stands in for it, through a symlink without spaces
    # (unit files split ExecStart at spaces, and CI's clone has one in its path).
    venv_bin = tmp_path / "venv-bin"
    venv_bin.symlink_to(Path(sys.executable).parent, target_is_directory=True)
    for unit in (DEPLOY / "systemd").iterdir():
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/elibrary/venv/bin", str(venv_bin)))
    names = sorted(str(tmp_path / unit.name) for unit in (DEPLOY / "systemd").iterdir())
    assert {Path(n).name for n in names} == {"elibrary.service", "elibrary-jobs.service", "elibrary-jobs.timer"}
    result = subprocess.run([analyze, "verify", *names], capture_output=True, timeout=120)
    if result.returncode != 0 and b"Failed to" in result.stderr and b"bus" in result.stderr.lower():
        pytest.skip(f"systemd-analyze cannot run here: {result.stderr.decode()[:200]}")
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr.decode()
    text = (DEPLOY / "systemd" / "elibrary.service").read_text()
    assert "-c python:elibrary.web.gunicorn_conf" in text and "PROMETHEUS_MULTIPROC_DIR=/run/elibrary/metrics" in text


def test_logrotate_file_is_valid_and_keeps_logs_over_a_year(tmp_path):
    logrotate = shutil.which("logrotate") or "/usr/sbin/logrotate"
    if not os.path.exists(logrotate):
        pytest.skip("logrotate missing (Debian package logrotate)")
    text = (DEPLOY / "logrotate" / "elibrary").read_text()
    logs = tmp_path / "log"
    logs.mkdir()
    (logs / "app.log").write_text("{}\n")
    local = text.replace("/var/log/elibrary/", f"{logs}/").replace("    su elibrary adm\n", "").replace("create 0640 elibrary adm", "create 0640")
    (tmp_path / "elibrary").write_text(local)
    result = subprocess.run([logrotate, "--debug", "--state", str(tmp_path / "state"), str(tmp_path / "elibrary")], capture_output=True, timeout=60)
    output = (result.stdout + result.stderr).decode()
    assert result.returncode == 0 and "error" not in output.lower(), output
    assert re.search(r"^\s*rotate 400$", text, re.M) and "maxage 400" in text
