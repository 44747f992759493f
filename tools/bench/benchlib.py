#!/usr/bin/env python3
"""Helpers for tools/bench/*.sh.  Python 3 standard library only.

Subcommands (all traffic goes to 127.0.0.1):

  ports BASE N                  print N TCP ports >= BASE that are free on 127.0.0.1
  wait-listen PORT SECONDS      wait until something LISTENs on PORT (no connection made)
  wait-http URL LENGTH SECONDS  wait until GET URL answers 200 with a LENGTH-byte body
  busy SECONDS                  print how busy each core is over SECONDS
  tree PID                      print PID and its live descendants
  stopped PID                   exit 0 if PID is gone or a zombie, 1 if it still runs
  run [options] -- CMD...       run one load command (iperf3 or wrk) and record, for the
                                process tree of --pid, the CPU time it used (utime+stime
                                from /proc/PID/stat, all threads), its fds and RSS; append
                                one JSON line to --jsonl and print a one-line summary
  routes-config [options]       write a canonical config with N host / prefix routes and
                                print the Host and path that only the last route takes
  idle [options]                open N keep-alive connections to 127.0.0.1:PORT (asyncio),
                                one GET each, hold them idle, and record the VmRSS of the
                                process tree of --pid before, while held and after closing
  report --jsonl F [--out DIR]  medians over rounds, per-round ratios against --ref (and
                                the best of nginx and HAProxy), markdown tables
"""
import asyncio
import argparse
import json
import os
import re
import socket
import statistics
import struct
import subprocess
import sys
import time
import urllib.request

HZ = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


# ----------------------------------------------------------------------------- /proc
def proc_stat(pid):
    """(state, ppid, utime+stime, utime in ticks) for one process, or None if it is gone.

    /proc/PID/stat of a thread-group leader already sums every thread of the process
    (and threads that have exited), so one read per process is enough."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()   # fields[0] is field 3 of proc(5)
    return fields[0], int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[11])


def descendants(pid):
    """pid and all its live descendants (e.g. nginx workers, forked helpers)."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(name)
            if st:
                children.setdefault(st[1], []).append(int(name))
    out, todo = [], [int(pid)]
    while todo:
        p = todo.pop()
        if p not in out:
            out.append(p)
            todo.extend(children.get(p, ()))
    return out


def cpu_ticks(pids):
    return sum((proc_stat(p) or (0, 0, 0, 0))[2] for p in pids)


def user_ticks(pids):
    """The user-space part of cpu_ticks(): the rest is the kernel working for the process
    (system calls, and the loopback TCP receive path its sends run)."""
    return sum((proc_stat(p) or (0, 0, 0, 0))[3] for p in pids)


def fd_count(pids):
    n = 0
    for p in pids:
        try:
            n += len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            pass
    return n


def rss_kib(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * PAGE_KIB
        except OSError:
            pass
    return total


def vmrss_kib(pids):
    """sum of VmRSS (/proc/PID/status) over pids, in KiB."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def threads(pids):
    n = 0
    for p in pids:
        try:
            n += len(os.listdir(f"/proc/{p}/task"))
        except OSError:
            pass
    return n


def tcp_counters():
    """System-wide TCP counters from /proc/net/snmp and /proc/net/netstat, e.g.
    {'TcpRetransSegs': n, 'TcpExtTCPDSACKRecvSegs': n, ...} (the names nstat prints)."""
    out = {}
    for path in ("/proc/net/snmp", "/proc/net/netstat"):
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for names, values in zip(lines[::2], lines[1::2]):
            prefix, names = names.split(":", 1)
            for n, v in zip(names.split(), values.split(":", 1)[1].split()):
                out[prefix + n] = int(v)
    return out


# counters worth keeping per run; drops and resets should stay 0 on loopback
TCP_KEYS = ("TcpRetransSegs", "TcpExtTCPDSACKRecvSegs", "TcpOutRsts", "TcpEstabResets",
            "TcpAttemptFails", "TcpExtListenOverflows", "TcpExtListenDrops",
            "TcpExtTCPBacklogDrop", "TcpExtTCPRcvQDrop", "TcpExtTCPOFODrop",
            "TcpExtTCPAbortOnData", "TcpExtTCPAbortOnClose", "TcpExtTCPAbortOnTimeout")
DROP_KEYS = ("TcpExtListenOverflows", "TcpExtListenDrops", "TcpExtTCPBacklogDrop",
             "TcpExtTCPRcvQDrop", "TcpExtTCPOFODrop")


def ksoftirqd(core):
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/comm") as f:
                    if f.read().strip() == f"ksoftirqd/{core}":
                        return int(name)
            except OSError:
                pass
    return None


def core_times():
    """{'cpu0': (busy, total), ...} in ticks from /proc/stat (iowait counts as idle)."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            parts = line.split()
            if parts and parts[0].startswith("cpu") and parts[0] != "cpu":
                v = [int(x) for x in parts[1:9]]
                out[parts[0]] = (sum(v) - v[3] - v[4], sum(v))
    return out


def busy_pct(before, after, core):
    key = f"cpu{core}"
    if key not in before or key not in after:
        return None
    dt = after[key][1] - before[key][1]
    return round(100.0 * (after[key][0] - before[key][0]) / dt, 1) if dt > 0 else None


# ----------------------------------------------------------------------------- small commands
def cmd_ports(a):
    found, port = [], a.base
    while len(found) < a.n and port < 65535:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            found.append(port)
        except OSError:
            pass
        finally:
            s.close()
        port += 1
    if len(found) < a.n:
        sys.exit("not enough free ports")
    print(" ".join(map(str, found)))


def listening(port):
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except OSError:
            continue
    return False


def cmd_wait_listen(a):
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        if listening(a.port):
            return 0
        time.sleep(0.05)
    print(f"nothing listens on port {a.port} after {a.seconds}s", file=sys.stderr)
    return 1


def http_get(url, timeout=3.0):
    req = urllib.request.Request(url, headers={"Connection": "close"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def cmd_wait_http(a):
    end, last = time.monotonic() + a.seconds, "no attempt"
    while time.monotonic() < end:
        try:
            status, body = http_get(a.url)
            if status == 200 and len(body) == a.length:
                return 0
            last = f"HTTP {status} with {len(body)} bytes"
        except Exception as e:  # noqa: BLE001 - any failure means "not ready yet"
            last = repr(e)
        time.sleep(0.1)
    print(f"{a.url} not ready after {a.seconds}s: {last}", file=sys.stderr)
    return 1


def cmd_busy(a):
    """How busy each core is over SECONDS, before we start anything (other tenants)."""
    before = core_times()
    time.sleep(a.seconds)
    after = core_times()
    print(" ".join(f"{c}={busy_pct(before, after, c[3:])}%" for c in sorted(after)))


def cmd_tree(a):
    print(" ".join(map(str, descendants(a.pid))))


def cmd_stopped(a):
    st = proc_stat(a.pid)
    return 0 if (st is None or st[0] in ("Z", "X")) else 1


# ----------------------------------------------------------------------------- parsers
def parse_iperf3(text):
    out = {"bytes": None, "gbps": None, "retransmits": None, "error": None}
    try:
        j = json.loads(text)
    except ValueError:
        out["error"] = "no JSON from iperf3: " + text.strip()[-200:]
        return out
    if j.get("error"):
        out["error"] = j["error"]
    end = j.get("end") or {}
    recv, sent = end.get("sum_received") or {}, end.get("sum_sent") or {}
    if recv.get("bytes"):
        out["bytes"] = recv["bytes"]
        out["gbps"] = recv["bits_per_second"] / 1e9
        out["sent_bytes"] = sent.get("bytes")
    out["retransmits"] = sent.get("retransmits")
    return out


_TIME_US = {"us": 1, "ms": 1e3, "s": 1e6, "m": 6e7}


def _to_ms(value, unit):
    return float(value) * _TIME_US[unit] / 1e3


def parse_wrk(text):
    out = {"requests": None, "rps": None, "p50_ms": None, "p99_ms": None,
           "socket_errors": 0, "non2xx": 0, "error": None}
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m),", text)
    if m:
        out["requests"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s*([\d.]+)", text)
    if m:
        out["rps"] = float(m.group(1))
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(rf"^\s*{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
        if m:
            out[key] = _to_ms(m.group(1), m.group(2))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["socket_errors"] = sum(map(int, m.groups()))
        out["socket_errors_detail"] = m.group(0)
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    if out["rps"] is None:
        out["error"] = "no result from wrk: " + text.strip()[-200:]
    return out


def origin_accepts(url):
    """nginx stub_status 'accepts' counter, or None."""
    if not url:
        return None
    try:
        status, body = http_get(url)
        m = re.search(rb"server accepts handled requests\s+(\d+)", body)
        return int(m.group(1)) if status == 200 and m else None
    except Exception:  # noqa: BLE001
        return None


# ----------------------------------------------------------------------------- run
def cmd_run(a):
    pids = descendants(a.pid) if a.pid else []
    acc0 = origin_accepts(a.origin_status)
    ksi = ksoftirqd(a.proxy_core) if a.proxy_core is not None else None
    ksi0 = cpu_ticks([ksi]) if ksi else 0
    fds0, cores0, net0 = fd_count(pids), core_times(), tcp_counters()
    ticks0, t0 = cpu_ticks(pids), time.monotonic()
    user0 = user_ticks(pids)
    try:
        p = subprocess.run(a.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=a.timeout)
        text, rc = p.stdout, p.returncode
    except subprocess.TimeoutExpired as e:
        text = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        rc = "timeout"
    wall = time.monotonic() - t0
    pids_after = descendants(a.pid) if a.pid else []
    ticks1, cores1, net1 = cpu_ticks(pids_after), core_times(), tcp_counters()
    user1 = user_ticks(pids_after)
    ksi1 = cpu_ticks([ksi]) if ksi else 0
    acc1 = origin_accepts(a.origin_status)

    rec = {"group": a.group, "target": a.target, "round": a.round, "kind": a.kind,
           "rc": rc, "wall_s": round(wall, 3), "cmd": " ".join(a.cmd),
           "tcp": {k: net1.get(k, 0) - net0.get(k, 0) for k in TCP_KEYS}}
    rec["tcp_drops"] = sum(rec["tcp"][k] for k in DROP_KEYS)
    rec.update(parse_iperf3(text) if a.kind == "iperf3" else parse_wrk(text))
    if a.pid:
        alive = proc_stat(a.pid) is not None and proc_stat(a.pid)[0] not in ("Z", "X")
        cpu_s = (ticks1 - ticks0) / HZ
        rec.update({"proxy_alive": alive, "proxy_cpu_s": cpu_s,
                    "proxy_user_s": (user1 - user0) / HZ,
                    "proxy_cpu_pct": round(100 * cpu_s / wall, 1),
                    "proxy_rss_kib": rss_kib(pids_after), "proxy_threads": threads(pids_after),
                    "fds_before": fds0})
        # connections must be released once the load is gone: wait up to 3 s for the
        # fd count to come back (a leak shows up as fds_after > fds_before)
        end = time.monotonic() + 3
        while fd_count(pids_after) > fds0 and time.monotonic() < end:
            time.sleep(0.1)
        rec["fds_after"] = fd_count(pids_after)
    if a.proxy_core is not None:
        rec["proxy_core_busy_pct"] = busy_pct(cores0, cores1, a.proxy_core)
        rec["ksoftirqd_pct"] = round(100 * (ksi1 - ksi0) / HZ / wall, 1) if ksi else None
        if rec["proxy_core_busy_pct"] is not None:
            # busy time on the proxy's core that neither the proxy nor that core's
            # ksoftirqd accounts for: other processes on the machine, mostly
            rec["proxy_core_other_pct"] = round(
                rec["proxy_core_busy_pct"] - (rec.get("proxy_cpu_pct") or 0)
                - (rec["ksoftirqd_pct"] or 0), 1)
    if a.load_core is not None:
        rec["load_core_busy_pct"] = busy_pct(cores0, cores1, a.load_core)
    if acc0 is not None and acc1 is not None:
        rec["origin_accepts"] = acc1 - acc0 - 1   # minus the second status request

    if a.kind == "iperf3":
        ok = rc == 0 and not rec["error"] and rec["bytes"]
        if a.pid and rec["bytes"]:
            rec["cpu_ms_per_gb"] = rec["proxy_cpu_s"] * 1e3 / (rec["bytes"] / 1e9)
        summary = (f"{rec['gbps'] or 0:7.2f} Gbit/s  cpu {fmt(rec.get('cpu_ms_per_gb'), 0)} ms/GB"
                   f"  retrans {rec['tcp']['TcpRetransSegs']} (dsack {rec['tcp']['TcpExtTCPDSACKRecvSegs']})")
    else:
        ok = rc == 0 and not rec["error"] and rec["requests"]
        if a.pid and rec["requests"]:
            # one request per connection with 'Connection: close' (tcp.sh), so per
            # request is also per connection
            rec["cpu_us_per_conn"] = rec["proxy_cpu_s"] * 1e6 / rec["requests"]
            rec["cpu_us_per_req"] = rec["cpu_us_per_conn"]
            rec["user_us_per_req"] = rec["proxy_user_s"] * 1e6 / rec["requests"]
        if rec["requests"] and a.body_bytes:
            mib = rec["requests"] * a.body_bytes / 1048576
            rec["body_bytes"] = a.body_bytes
            rec["mib_per_s"] = (rec["rps"] or 0) * a.body_bytes / 1048576
            if a.pid:
                rec["cpu_us_per_mib"] = rec["proxy_cpu_s"] * 1e6 / mib
                rec["user_us_per_mib"] = rec["proxy_user_s"] * 1e6 / mib
        summary = (f"{rec['rps'] or 0:8.0f} {a.unit}/s  cpu {fmt(rec.get('cpu_us_per_conn'), 1)} us/{a.unit}"
                   f"  p99 {fmt(rec['p99_ms'], 2)} ms  errors {rec['socket_errors']}+{rec['non2xx']}"
                   f"  origin accepts {rec.get('origin_accepts')}  rst {rec['tcp']['TcpOutRsts']}")
    if a.pid:
        summary += (f"  proxy cpu {rec['proxy_cpu_pct']:.0f}%  fds {rec['fds_before']}->"
                    f"{rec['fds_after']}")
        ok = ok and rec["proxy_alive"]
    rec["ok"] = bool(ok)
    if not ok:
        rec["output_tail"] = text[-2000:]
    if rec["tcp_drops"]:
        summary += "  drops " + ",".join(f"{k[3:]}={rec['tcp'][k]}" for k in DROP_KEYS if rec["tcp"][k])
    summary += (f"  [core{a.proxy_core} {fmt(rec.get('proxy_core_busy_pct'), 0)}%"
                f" (ksoftirqd {fmt(rec.get('ksoftirqd_pct'), 0)}%)"
                f" core{a.load_core} {fmt(rec.get('load_core_busy_pct'), 0)}%]")
    if a.pid and rec.get("proxy_rss_kib") is not None:
        summary += f"  rss {rec['proxy_rss_kib'] / 1024:.1f} MiB"
    print(f"  {a.group:9s} r{a.round} {a.target:8s} {summary}{'' if ok else '  FAILED rc=' + str(rc)}",
          flush=True)
    if not ok:
        print("    " + (text.strip()[-600:] or "(no output)").replace("\n", "\n    "), flush=True)
    with open(a.jsonl, "a") as f:
        f.write(json.dumps(rec) + "\n")
    return 0


# ----------------------------------------------------------------------------- routes
def cmd_routes_config(a):
    """Write a canonical config with a.n routes of kind a.kind to a.file and print the Host
    and path of a request that only the LAST route takes (first-match order exercised):
      host:   host_router, n virtual hosts site<i>.bench.test (+ *.site<i>.bench.test);
              the request names the last one.
      prefix: path_prefix_router, n rules host api.bench.test, prefix /api/v1/svc<i>/
              (stripped); the request is /api/v1/svc<n-1>/, which every rule's prefix
              shares up to the number.
      mixed:  host_router with n/2 virtual hosts that the request's host is not among,
              then path_prefix_router with n - n/2 prefix rules; the last rule matches."""
    n = a.n
    hosts = {"host": n, "prefix": 0, "mixed": n // 2}[a.kind]
    prefixes = n - hosts
    out = [f"# tools/bench/routes.sh: {n} routes ({a.kind}); generated",
           "log_level: warn",
           "shutdown_timeout: 5s",
           "clusters:",
           "  - name: origin",
           f'    endpoints: ["127.0.0.1:{a.origin_port}"]',
           "listeners:",
           "  - name: bench",
           f'    address: "127.0.0.1:{a.port}"',
           "    filters:",
           "      - name: http_connection_manager",
           "        config:",
           "          http_filters:",
           "            - name: stats"]
    if hosts:
        out += ["            - name: host_router",
                "              config:",
                "                virtual_hosts:"]
        out += [f'                  - {{ name: site{i}, hosts: ["site{i}.bench.test", '
                f'"*.site{i}.bench.test"], cluster: origin }}' for i in range(hosts)]
    if prefixes:
        out += ["            - name: path_prefix_router",
                "              config:",
                "                routes:"]
        out += [f"                  - {{ name: svc{i}, host: api.bench.test, "
                f"prefix: /api/v1/svc{i}/, cluster: origin, strip_prefix: true }}"
                for i in range(prefixes)]
    out += ["            - name: router"]
    with open(a.file, "w") as f:
        f.write("\n".join(out) + "\n")
    if prefixes:
        print(f"api.bench.test /api/v1/svc{prefixes - 1}/")
    else:
        print(f"site{hosts - 1}.bench.test /")
    return 0


# ----------------------------------------------------------------------------- idle
async def _get(reader, writer, req, timeout):
    """send one GET and read its answer; returns (status, keeps the connection open)."""
    writer.write(req)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length, keep = 0, True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and "close" in value:
            keep = False
        elif name == "transfer-encoding":
            raise ValueError("chunked answer: the idle client reads Content-Length bodies only")
    if length:
        await asyncio.wait_for(reader.readexactly(length), timeout)
    return status, keep


async def _idle(a, rec):
    req = f"GET {a.path} HTTP/1.1\r\nHost: 127.0.0.1:{a.port}\r\n\r\n".encode()
    # warm-up on one connection, then let the process settle before the base reading
    r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", a.port), a.step_timeout)
    for _ in range(a.warmup):
        status, _ = await _get(r, w, req, a.step_timeout)
        if status != 200:
            raise RuntimeError(f"warm-up GET answered {status}")
    w.close()
    await asyncio.sleep(a.settle)
    pids = descendants(a.pid)
    rec["rss_base_kib"], rec["fds_base"] = vmrss_kib(pids), fd_count(pids)

    conns, errors = [], []
    sem = asyncio.Semaphore(a.batch)

    async def one():
        async with sem:
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", a.port),
                                              a.step_timeout)
            except Exception as e:  # noqa: BLE001
                errors.append(f"connect: {e!r}")
                return
            try:
                status, keep = await _get(r, w, req, a.step_timeout)
                if status != 200 or not keep:
                    errors.append(f"status {status}{'' if keep else ' with Connection: close'}")
            except Exception as e:  # noqa: BLE001
                errors.append(f"GET: {e!r}")
            conns.append((r, w))

    t0 = time.monotonic()
    await asyncio.gather(*(one() for _ in range(a.n)))
    rec["open_s"] = round(time.monotonic() - t0, 2)
    await asyncio.sleep(a.hold)
    pids = descendants(a.pid)
    rec["rss_idle_kib"], rec["fds_idle"] = vmrss_kib(pids), fd_count(pids)
    # the server must not have closed them: a sample still answers on the same connection
    live = [c for c in conns if not c[0].at_eof()]
    rec["open_at_end"] = len(live)
    sample_ok = 0
    for r, w in live[:: max(1, len(live) // a.sample)][: a.sample]:
        try:
            status, _ = await _get(r, w, req, a.step_timeout)
            sample_ok += status == 200
        except Exception:  # noqa: BLE001
            pass
    rec["sample"], rec["sample_ok"] = min(a.sample, len(live)), sample_ok
    # close with RST (SO_LINGER 0): no TIME_WAIT pile-up on the client side
    for _, w in conns:
        sock = w.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        w.close()
    await asyncio.sleep(0)
    end = time.monotonic() + 5
    while fd_count(pids) > rec["fds_base"] and time.monotonic() < end:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    rec["rss_closed_kib"], rec["fds_closed"] = vmrss_kib(pids), fd_count(pids)
    rec["errors"] = len(errors)
    rec["error_examples"] = sorted(set(errors))[:5]


def cmd_idle(a):
    rec = {"group": a.group, "target": a.target, "round": a.round, "kind": "idle", "n": a.n,
           "hold_s": a.hold}
    t0 = time.monotonic()
    try:
        asyncio.run(asyncio.wait_for(_idle(a, rec), a.timeout))
        rec["rc"] = 0
    except Exception as e:  # noqa: BLE001  (a timeout included: recorded, not raised)
        rec["rc"] = f"{type(e).__name__}: {e}"[:300]
    rec["wall_s"] = round(time.monotonic() - t0, 2)
    alive = proc_stat(a.pid) is not None and proc_stat(a.pid)[0] not in ("Z", "X")
    rec["proxy_alive"] = alive
    if "rss_idle_kib" in rec:
        rec["kib_per_conn"] = (rec["rss_idle_kib"] - rec["rss_base_kib"]) / a.n
    rec["ok"] = bool(rec["rc"] == 0 and alive and not rec.get("errors")
                     and rec.get("open_at_end") == a.n
                     and rec.get("sample_ok") == rec.get("sample"))
    summary = (f"{a.n} conns opened in {fmt(rec.get('open_s'), 1)} s"
               f"  rss {fmt(rec.get('rss_base_kib', 0) / 1024, 1)} -> "
               f"{fmt(rec.get('rss_idle_kib', 0) / 1024, 1)} -> "
               f"{fmt(rec.get('rss_closed_kib', 0) / 1024, 1)} MiB"
               f"  {fmt(rec.get('kib_per_conn'), 2)} KiB/conn"
               f"  fds {rec.get('fds_base')}->{rec.get('fds_idle')}->{rec.get('fds_closed')}"
               f"  open at end {rec.get('open_at_end')}  sample {rec.get('sample_ok')}/{rec.get('sample')}"
               f"  errors {rec.get('errors')}")
    print(f"  {a.group:9s} r{a.round} {a.target:8s} {summary}"
          f"{'' if rec['ok'] else '  FAILED ' + str(rec['rc']) + ' ' + '; '.join(rec.get('error_examples', []))}",
          flush=True)
    with open(a.jsonl, "a") as f:
        f.write(json.dumps(rec) + "\n")
    return 0


def fmt(v, digits):
    return "-" if v is None else f"{v:.{digits}f}"


# ----------------------------------------------------------------------------- report
def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio_vs(runs, target, ref, key):
    """median over rounds of (target's value / ref's value in the same round)."""
    by_round = {}
    for r in runs:
        if r["ok"] and r.get(key) is not None:
            by_round.setdefault(r["round"], {})[r["target"]] = r[key]
    ratios = [v[target] / v[ref] for v in by_round.values()
              if target in v and ref in v and v[ref]]
    return med(ratios)


PEERS = ("nginx", "haproxy")


def ratio_best(runs, target, peers, key):
    """median over rounds of (target's value / the lowest of the peers' values in the same
    round): the ratio to the better peer, for costs where lower is better."""
    by_round = {}
    for r in runs:
        if r["ok"] and r.get(key) is not None:
            by_round.setdefault(r["round"], {})[r["target"]] = r[key]
    ratios = []
    for v in by_round.values():
        best = [v[p] for p in peers if v.get(p)]
        if target in v and best:
            ratios.append(v[target] / min(best))
    return med(ratios)


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def cmd_report(a):
    runs = []
    with open(a.jsonl) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    targets = a.targets.split(",")
    ref = a.ref if a.ref in targets else None
    refname = ref or "ref (none)"
    groups = []
    for r in runs:
        if r["group"] not in groups:
            groups.append(r["group"])
    out = []
    tput = [g for g in groups if g.startswith("tput")]
    if tput:
        out.append("### Throughput (iperf3, client -> server through the target)\n")
        rows = []
        for g in tput:
            for t in targets:
                rs = [r for r in runs if r["group"] == g and r["target"] == t]
                if not rs:
                    continue
                good = [r for r in rs if r["ok"]]
                gbps = med(r["gbps"] for r in good)
                rows.append([
                    g.split("-P")[1], t, fmt(gbps, 2),
                    fmt(ratio_vs([r for r in runs if r["group"] == g], t, ref, "gbps"), 2) if ref else "-",
                    fmt(med(r.get("proxy_cpu_pct") for r in good), 0),
                    fmt(med(r.get("cpu_ms_per_gb") for r in good), 0),
                    fmt(ratio_vs([r for r in runs if r["group"] == g], t, ref, "cpu_ms_per_gb"), 2)
                    if ref and t != "direct" else "-",
                    fmt(med(r["tcp"]["TcpRetransSegs"] for r in good), 0) + " (" +
                    fmt(med(r["tcp"]["TcpExtTCPDSACKRecvSegs"] for r in good), 0) + ")",
                    str(sum(r["tcp_drops"] for r in rs)),
                    f"{len(good)}/{len(rs)}"])
        out.append(table(["streams", "target", "Gbit/s", f"x {refname}", "proxy CPU %", "CPU ms/GB",
                          f"CPU/GB x {refname}", "retransmits (DSACKed)", "drops", "runs ok"],
                         rows))
        out.append("")
    if "connrate" in groups:
        out.append("### Connection rate (wrk, new TCP connection per HTTP request: "
                   "connect -> GET -> 100-byte answer -> close)\n")
        rows = []
        g = [r for r in runs if r["group"] == "connrate"]
        for t in targets:
            rs = [r for r in g if r["target"] == t]
            if not rs:
                continue
            good = [r for r in rs if r["ok"]]
            per_conn = [r["origin_accepts"] / r["requests"] for r in good
                        if r.get("origin_accepts") is not None and r.get("requests")]
            leaks = [r["fds_after"] - r["fds_before"] for r in rs if "fds_after" in r]
            rows.append([
                t, fmt(med(r["rps"] for r in good), 0),
                fmt(ratio_vs(g, t, ref, "rps"), 2) if ref else "-",
                fmt(med(r["p50_ms"] for r in good), 2), fmt(med(r["p99_ms"] for r in good), 2),
                fmt(med(r.get("proxy_cpu_pct") for r in good), 0),
                fmt(med(r.get("cpu_us_per_conn") for r in good), 1),
                fmt(ratio_vs(g, t, ref, "cpu_us_per_conn"), 2) if ref and t != "direct" else "-",
                fmt(med(per_conn), 3),
                str(sum(r.get("socket_errors", 0) + r.get("non2xx", 0) for r in rs)),
                fmt(med(r["tcp"]["TcpOutRsts"] / r["requests"] for r in good if r.get("requests")), 3),
                str(sum(r["tcp_drops"] for r in rs)),
                str(max(leaks)) if leaks else "-",
                f"{len(good)}/{len(rs)}"])
        out.append(table(["target", "conn/s", f"x {refname}", "p50 ms", "p99 ms", "proxy CPU %",
                          "CPU us/conn", f"CPU/conn x {refname}", "origin conns/conn", "errors",
                          "RSTs/conn", "drops", "fd growth", "runs ok"], rows))
        out.append("")
    for g in [g for g in groups if g.startswith("http-")]:
        scen = g[5:]
        large = scen == "large"
        title = {"small": "100 B body, keep-alive", "large": "1 MiB body, keep-alive",
                 "close": "100 B body, 'Connection: close': a new client connection per request"}
        out.append(f"### HTTP {scen} (wrk through the target; {title.get(scen, scen)})\n")
        rows = []
        gr = [r for r in runs if g == r["group"]]
        rate, cpu = ("mib_per_s", "cpu_us_per_mib") if large else ("rps", "cpu_us_per_req")
        user = "user_us_per_mib" if large else "user_us_per_req"
        for t in targets:
            rs = [r for r in gr if r["target"] == t]
            if not rs:
                continue
            good = [r for r in rs if r["ok"]]
            leaks = [r["fds_after"] - r["fds_before"] for r in rs if "fds_after" in r]
            rss = [r.get("proxy_rss_kib") for r in good if r.get("proxy_rss_kib") is not None]
            proxied = t != "direct"
            rows.append([
                t, fmt(med(r.get(rate) for r in good), 0),
                fmt(ratio_vs(gr, t, ref, rate), 2) if ref else "-",
                fmt(med(r["p50_ms"] for r in good), 3), fmt(med(r["p99_ms"] for r in good), 3),
                fmt(med(r.get("proxy_cpu_pct") for r in good), 0),
                fmt(med(r.get(cpu) for r in good), 2),
                fmt(med(r.get(user) for r in good if r.get(user) is not None), 2),
                fmt(med(r[cpu] - r[user] for r in good
                        if r.get(user) is not None and r.get(cpu) is not None), 2),
                fmt(ratio_vs(gr, t, ref, cpu), 2) if ref and proxied else "-",
                fmt(ratio_best(gr, t, PEERS, cpu), 2) if proxied else "-",
                fmt(med(v / 1024 for v in rss) if rss else None, 1),
                fmt(med(r["origin_accepts"] for r in good if r.get("origin_accepts") is not None), 0),
                str(sum(r.get("socket_errors", 0) + r.get("non2xx", 0) for r in rs)),
                str(sum(r["tcp_drops"] for r in rs)),
                str(max(leaks)) if leaks else "-",
                f"{len(good)}/{len(rs)}"])
        unit = "MiB" if large else ("conn" if scen == "close" else "req")
        out.append(table(["target", "MiB/s" if large else f"{unit}/s", f"x {refname}", "p50 ms",
                          "p99 ms", "proxy CPU %", f"CPU us/{unit}", "of it user", "of it kernel",
                          f"CPU x {refname}",
                          "CPU x best peer", "RSS MiB after", "origin conns", "errors", "drops",
                          "fd growth", "runs ok"], rows))
        out.append("")
    for g in [g for g in groups if g.startswith("routes-")]:
        gr = [r for r in runs if g == r["group"]]
        out.append(f"### Config scale, {g[7:]} routes (wrk, 100 B keep-alive; the request "
                   f"matches the last route)\n")
        rows = []
        for t in targets:
            rs = [r for r in gr if r["target"] == t]
            if not rs:
                continue
            good = [r for r in rs if r["ok"]]
            ratio = ratio_vs(gr, t, ref, "cpu_us_per_req") if ref else None
            verdict = "-" if t == ref or ratio is None else (
                "ok" if ratio <= a.scale_limit else f"OVER {a.scale_limit:.2f}")
            rss = [r.get("proxy_rss_kib") for r in good if r.get("proxy_rss_kib") is not None]
            rows.append([
                t, fmt(med(r.get("rps") for r in good), 0), fmt(med(r["p99_ms"] for r in good), 3),
                fmt(med(r.get("proxy_cpu_pct") for r in good), 0),
                fmt(med(r.get("cpu_us_per_req") for r in good), 2),
                fmt(ratio, 3) if t != ref else "1.000", verdict,
                fmt(med(v / 1024 for v in rss) if rss else None, 1),
                str(sum(r.get("socket_errors", 0) + r.get("non2xx", 0) for r in rs)),
                f"{len(good)}/{len(rs)}"])
        out.append(table(["config", "req/s", "p99 ms", "proxy CPU %", "CPU us/req",
                          f"CPU x {refname}", f"<= {a.scale_limit:.2f}", "RSS MiB after", "errors",
                          "runs ok"], rows))
        out.append("")
    if "idle" in groups:
        gr = [r for r in runs if r["group"] == "idle"]
        n = med(r["n"] for r in gr)
        out.append(f"### Idle keep-alive connections ({n:.0f} connections, one GET each, held; "
                   f"fresh process per round)\n")
        rows = []
        for t in targets:
            rs = [r for r in gr if r["target"] == t]
            if not rs:
                continue
            good = [r for r in rs if r["ok"]]
            mib = lambda k: fmt(med(r.get(k) / 1024 for r in good if r.get(k) is not None), 1)  # noqa: E731
            rows.append([
                t, mib("rss_base_kib"), mib("rss_idle_kib"),
                fmt(med(r.get("kib_per_conn") for r in good), 2),
                fmt(ratio_vs(gr, t, ref, "kib_per_conn"), 2) if ref else "-",
                mib("rss_closed_kib"), fmt(med(r.get("open_s") for r in good), 1),
                str(sum(r.get("errors") or 0 for r in rs)), f"{len(good)}/{len(rs)}"])
        out.append(table(["target", "RSS MiB before", "RSS MiB idle", "KiB/conn",
                          f"x {refname}", "RSS MiB after close", "open s", "errors", "runs ok"],
                         rows))
        out.append("")
    noisy = [r for r in runs if (r.get("proxy_core_other_pct") or 0) > a.noise]
    if noisy:
        out.append(f"Noisy runs: more than {a.noise:.0f}% of the proxy's core was busy with "
                   f"something other than the proxy and ksoftirqd/N (other processes): " +
                   ", ".join(f"{r['group']} r{r['round']} {r['target']} "
                             f"({r['proxy_core_other_pct']:.0f}%)" for r in noisy))
        out.append("")
    failed = [r for r in runs if not r["ok"]]
    if failed:
        out.append("Failed runs: " + "; ".join(
            f"{r['group']} r{r['round']} {r['target']} rc={r['rc']} "
            f"{(r.get('error') or '')[:120]}{'' if r.get('proxy_alive', True) else ' (proxy died)'}"
            for r in failed))
        out.append("")
    text = "\n".join(out)
    print(text)
    if a.out:
        with open(os.path.join(a.out, "summary.md"), "a") as f:
            f.write(text + "\n")
    return 0


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd_name", required=True)
    s = sub.add_parser("ports")
    s.add_argument("base", type=int)
    s.add_argument("n", type=int)
    s.set_defaults(fn=cmd_ports)
    s = sub.add_parser("wait-listen")
    s.add_argument("port", type=int)
    s.add_argument("seconds", type=float)
    s.set_defaults(fn=cmd_wait_listen)
    s = sub.add_parser("wait-http")
    s.add_argument("url")
    s.add_argument("length", type=int)
    s.add_argument("seconds", type=float)
    s.set_defaults(fn=cmd_wait_http)
    s = sub.add_parser("busy")
    s.add_argument("seconds", type=float)
    s.set_defaults(fn=cmd_busy)
    s = sub.add_parser("tree")
    s.add_argument("pid", type=int)
    s.set_defaults(fn=cmd_tree)
    s = sub.add_parser("stopped")
    s.add_argument("pid", type=int)
    s.set_defaults(fn=cmd_stopped)
    s = sub.add_parser("run")
    s.add_argument("--jsonl", required=True)
    s.add_argument("--kind", choices=("iperf3", "wrk"), required=True)
    s.add_argument("--group", required=True)
    s.add_argument("--target", required=True)
    s.add_argument("--round", type=int, required=True)
    s.add_argument("--pid", type=int, default=0, help="proxy PID (0: none, e.g. direct)")
    s.add_argument("--proxy-core", type=int)
    s.add_argument("--load-core", type=int)
    s.add_argument("--origin-status", default="", help="nginx stub_status URL")
    s.add_argument("--timeout", type=float, default=60)
    s.add_argument("--unit", default="conn", help="what one wrk request is, in the run line")
    s.add_argument("--body-bytes", type=int, default=0,
                   help="response body size: adds MiB/s and CPU us per MiB of body")
    s.add_argument("cmd", nargs=argparse.REMAINDER)
    s.set_defaults(fn=cmd_run)
    s = sub.add_parser("routes-config")
    s.add_argument("--kind", choices=("host", "prefix", "mixed"), required=True)
    s.add_argument("--n", type=int, required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--origin-port", type=int, required=True)
    s.add_argument("--file", required=True)
    s.set_defaults(fn=cmd_routes_config)
    s = sub.add_parser("idle")
    s.add_argument("--jsonl", required=True)
    s.add_argument("--group", default="idle")
    s.add_argument("--target", required=True)
    s.add_argument("--round", type=int, required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--pid", type=int, required=True, help="PID of the server measured")
    s.add_argument("--path", default="/")
    s.add_argument("-n", type=int, default=10000, help="connections to open and hold")
    s.add_argument("--batch", type=int, default=100, help="connections being opened at once")
    s.add_argument("--hold", type=float, default=3, help="seconds to hold them idle")
    s.add_argument("--warmup", type=int, default=20, help="GETs on one connection before the base")
    s.add_argument("--settle", type=float, default=1, help="seconds between warm-up and base")
    s.add_argument("--sample", type=int, default=50, help="held connections asked again")
    s.add_argument("--step-timeout", type=float, default=10, help="per connect or answer")
    s.add_argument("--timeout", type=float, default=180, help="for the whole run")
    s.set_defaults(fn=cmd_idle)
    s = sub.add_parser("report")
    s.add_argument("--jsonl", required=True)
    s.add_argument("--targets", required=True)
    s.add_argument("--ref", default="haproxy")
    s.add_argument("--noise", type=float, default=10.0)
    s.add_argument("--scale-limit", type=float, default=1.05,
                   help="config scale: the largest CPU/req ratio that passes")
    s.add_argument("--out", default="")
    s.set_defaults(fn=cmd_report)
    a = ap.parse_args()
    if getattr(a, "cmd", None) and a.cmd and a.cmd[0] == "--":
        a.cmd = a.cmd[1:]
    sys.exit(a.fn(a) or 0)


if __name__ == "__main__":
    main()
