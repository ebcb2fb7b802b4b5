"""SIP2 sign-in cost against pysip2's ACS on loopback (cp932, login, 63 + 35 per sign-in): .venv/bin/python bench/sip2.py"""
import subprocess, sys, time, threading
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from elibrary.ils.sip2.client import SIP2Client
from elibrary.ils.sip2.connector import SIP2Connector
from elibrary.ils.sip2.dialect import DIALECTS
from dataclasses import replace
p = subprocess.Popen([sys.executable, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "tests/ils/acs_pysip2.py"), "--encoding", "cp932", "--login-required"], stdout=subprocess.PIPE, text=True)
port = int(p.stdout.readline())
sip = SIP2Connector(SIP2Client("127.0.0.1", port, replace(DIALECTS["generic"], encoding="cp932"), user="elibrary", password="sip-secret", pool_size=4), institution="KOBE")
sip.authenticate("20240001", "2468")
t = time.perf_counter(); n = 200
for _ in range(n): sip.authenticate("20240001", "2468")
seq = (time.perf_counter() - t) / n * 1000
def work():
    for _ in range(50): sip.authenticate("20240001", "2468")
ths = [threading.Thread(target=work) for _ in range(4)]
t = time.perf_counter(); [x.start() for x in ths]; [x.join() for x in ths]
par = 200 / (time.perf_counter() - t)
print(f"sequential: {seq:.2f} ms per sign-in (63+35 over a pooled connection); 4 threads: {par:.0f} sign-ins/s")
sip.close(); p.kill()
