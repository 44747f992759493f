#!/usr/bin/env bash
# tools/bench/tcp.sh - TCP (L4) benchmark of this proxy beside a direct connection and
# HAProxy, in one run, on loopback.  See tools/bench/README.md.
#
#   part "tput":     iperf3 server as the target, iperf3 client with -P 1 and -P 8;
#                    Gbit/s and proxy CPU ms per GB moved.
#   part "connrate": nginx (1 worker, 100-byte answer) as the target; wrk sends
#                    "GET /" with "Connection: close", so every request is a new client
#                    connection and, through a proxy, a new upstream connection;
#                    connections/s and proxy CPU us per connection.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
LIB="$HERE/benchlib.py"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

PROXY_BIN=""
[ -x "$REPO/build/proxy" ] && PROXY_BIN="$REPO/build/proxy"
PROXY_ARGS="--workers 1"
ROUNDS=3
DURATION=5
STREAMS=1,8
CR_CONNS=32
CR_DURATION=""
TARGETS=direct,haproxy,proxy
PARTS=tput,connrate
OUT=""
PIN=1
CPU_PROXY=1
CPU_LOAD=0
INSTALL=1
KEEP_TMP=0
BASE_PORT=24100

usage() {
  cat <<EOF
usage: $0 [options]

TCP benchmark: throughput (iperf3, 1 and 8 streams) and connections/s (wrk with
'Connection: close') for direct / HAProxy (mode tcp, 1 thread) / this proxy.

  --proxy BIN         proxy binary (default: $REPO/build/proxy if it exists)
  --proxy-args ARGS   extra arguments for it (default: "$PROXY_ARGS")
  --rounds N          rounds; target order alternates each round (default $ROUNDS)
  --duration S        seconds per iperf3 run (default $DURATION)
  --streams LIST      iperf3 -P values (default $STREAMS)
  --cr-conns N        wrk connections in flight for the connection rate (default $CR_CONNS)
  --cr-duration S     seconds per wrk run (default: --duration)
  --targets LIST      any of direct,haproxy,haproxy-splice,proxy (default $TARGETS)
  --parts LIST        tput,connrate (default $PARTS)
  --out DIR           write summary.md, runs.jsonl, meta.txt, configs and logs to DIR
  --cpu-proxy N       core for the proxy under test (default $CPU_PROXY)
  --cpu-load N        core for client and target servers (default $CPU_LOAD)
  --no-pin            don't pin with taskset
  --no-install        don't apt-get install missing packages
  --keep-tmp          keep the temp dir (configs, logs)
  --base-port N       first port to try (default $BASE_PORT)
  -h, --help          this help
EOF
}

CMDLINE="$0 $*"
while [ $# -gt 0 ]; do
  case "$1" in
    --proxy) PROXY_BIN=$2; shift 2 ;;
    --proxy-args) PROXY_ARGS=$2; shift 2 ;;
    -r|--rounds) ROUNDS=$2; shift 2 ;;
    -d|--duration) DURATION=$2; shift 2 ;;
    --streams) STREAMS=$2; shift 2 ;;
    --cr-conns) CR_CONNS=$2; shift 2 ;;
    --cr-duration) CR_DURATION=$2; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    --parts) PARTS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --cpu-proxy) CPU_PROXY=$2; shift 2 ;;
    --cpu-load) CPU_LOAD=$2; shift 2 ;;
    --no-pin) PIN=0; shift ;;
    --no-install) INSTALL=0; shift ;;
    --keep-tmp) KEEP_TMP=1; shift ;;
    --base-port) BASE_PORT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
: "${CR_DURATION:=$DURATION}"

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { say "ERROR: $*"; exit 1; }
has() { [[ ",$1," == *",$2,"* ]]; }

for n in "$ROUNDS" "$DURATION" "$CR_DURATION" "$CR_CONNS" "$BASE_PORT"; do
  if ! [[ "$n" =~ ^[1-9][0-9]*$ ]]; then fail "not a positive integer: $n"; fi
done
IFS=, read -r -a TLIST <<<"$TARGETS"
for t in "${TLIST[@]}"; do
  case "$t" in direct|haproxy|haproxy-splice|proxy) ;; *) fail "unknown target: $t" ;; esac
done
if has "$TARGETS" proxy; then
  [ -n "$PROXY_BIN" ] || fail "no proxy binary: build it or pass --proxy BIN (or drop 'proxy' from --targets)"
  [ -x "$PROXY_BIN" ] || fail "--proxy $PROXY_BIN is not executable"
  PROXY_BIN=$(readlink -f "$PROXY_BIN")
fi
if [ "$PIN" = 1 ] && [ "$(nproc)" -lt 2 ]; then
  say "only $(nproc) core: pinning disabled"
  PIN=0
fi

# ------------------------------------------------------------------------- packages
need=(iperf3 util-linux)
has "$PARTS" connrate && need+=(nginx wrk)
{ has "$TARGETS" haproxy || has "$TARGETS" haproxy-splice; } && need+=(haproxy)
command -v "$PY" >/dev/null || need+=(python3)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$INSTALL" = 1 ] || fail "missing packages (and --no-install): ${missing[*]}"
  [ "$(id -u)" = 0 ] || fail "missing packages ${missing[*]}; run as root or install them"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -q update >/dev/null || say "apt-get update failed; trying the install anyway"
  apt-get -q install -y --no-install-recommends "${missing[@]}" >/dev/null || fail "apt-get install failed"
fi
for c in iperf3 taskset; do command -v "$c" >/dev/null || fail "$c not found"; done
if has "$PARTS" connrate; then
  for c in nginx wrk; do command -v "$c" >/dev/null || fail "$c not found"; done
fi

# ------------------------------------------------------------------------- processes
TMP=$(mktemp -d /tmp/tcpbench.XXXXXX)
declare -a PIDS=()      # every background process we started, in start order
declare -A PID=()       # name -> pid

# stop_pid PID [LIMIT]: SIGTERM, wait up to LIMIT s (default 8), then SIGKILL; also
# SIGKILL descendants that outlive it.  Sets STOP_RC (exit status, or "killed") and
# STOP_SECS (time from SIGTERM to exit).  Must not run in a subshell (it calls wait).
STOP_RC=""
STOP_SECS=""
stop_pid() {
  local pid=$1 limit=${2:-8} kids start i k
  kids=$("$PY" "$LIB" tree "$pid" 2>/dev/null || true)
  start=$EPOCHREALTIME
  STOP_RC=0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < limit * 20; i++)); do
    "$PY" "$LIB" stopped "$pid" && break
    sleep 0.05
  done
  STOP_SECS=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
  if ! "$PY" "$LIB" stopped "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    STOP_RC=killed
  else
    wait "$pid" 2>/dev/null || STOP_RC=$?
  fi
  for k in $kids; do [ "$k" = "$pid" ] || kill -KILL "$k" 2>/dev/null || true; done
}

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -0 "${PIDS[$i]}" 2>/dev/null && stop_pid "${PIDS[$i]}" 3
  done
  if [ "$KEEP_TMP" = 1 ]; then say "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT
trap 'say terminated; exit 143' TERM

# start NAME CORE LOG CMD... (taskset and env exec, so $! is the program itself)
start() {
  local name=$1 core=$2 log=$3
  shift 3
  if [ "$PIN" = 1 ]; then set -- taskset -c "$core" "$@"; fi
  "$@" >"$log" 2>&1 </dev/null &
  PID[$name]=$!
  PIDS+=("$!")
}

stop() {  # stop NAME (sets STOP_RC and STOP_SECS)
  local name=$1 pid=${PID[$1]:-} p keep=()
  STOP_RC=-; STOP_SECS=-
  [ -n "$pid" ] || return 0
  stop_pid "$pid" 8
  unset "PID[$name]"
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# fg CMD...: run CMD in the background and wait for it, so that a signal's trap runs at
# once (bash defers traps until a foreground command ends) and cleanup can stop it.
fg() {
  local pid p keep=() rc=0
  "$@" &
  pid=$!
  PIDS+=("$pid")
  wait "$pid" || rc=$?
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
  return "$rc"
}

alive() { [ -n "${PID[$1]:-}" ] && ! "$PY" "$LIB" stopped "${PID[$1]}"; }

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ports=$("$PY" "$LIB" ports "$BASE_PORT" 6) || fail "no free ports from $BASE_PORT"
read -r -a P <<<"$ports"
TARGET_PORT=${P[0]}
declare -A PORT=([direct]=${P[0]} [haproxy]=${P[1]} [haproxy-splice]=${P[2]} [proxy]=${P[3]})
ADMIN_PORT=${P[4]}
JSONL="$TMP/runs.jsonl"
: >"$JSONL"
LOAD=()
[ "$PIN" = 1 ] && LOAD=(taskset -c "$CPU_LOAD")
RUNPIN=()
[ "$PIN" = 1 ] && RUNPIN=(--proxy-core "$CPU_PROXY" --load-core "$CPU_LOAD")
NOTES=()

# start_target NAME DIR UPSTREAM_PORT : one TCP proxy listening on PORT[NAME]
start_target() {
  local name=$1 dir=$2 up=$3 extra=""
  mkdir -p "$dir"
  case "$name" in
    haproxy|haproxy-splice)
      [ "$name" = haproxy-splice ] && extra=$'    option splice-request\n    option splice-response'
      cat >"$dir/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 20000
    no strict-limits
defaults
    mode tcp
    maxconn 20000
    timeout connect 5s
    timeout client 60s
    timeout server 60s
$extra
listen tcp_bench
    bind 127.0.0.1:${PORT[$name]}
    server target 127.0.0.1:$up
EOF
      haproxy -c -q -f "$dir/haproxy.cfg" || fail "bad haproxy config $dir/haproxy.cfg"
      start "$name" "$CPU_PROXY" "$dir/log" haproxy -db -f "$dir/haproxy.cfg"
      ;;
    proxy)
      cat >"$dir/config.yml" <<EOF
tcp:
  target: "127.0.0.1:$up"
  port: ":${PORT[proxy]}"
log_level: "log"
EOF
      # shellcheck disable=SC2086  # PROXY_ARGS is split into words on purpose
      start proxy "$CPU_PROXY" "$dir/log" env INTERNAL_API_PORT="127.0.0.1:$ADMIN_PORT" \
        "$PROXY_BIN" -c "$dir/config.yml" $PROXY_ARGS
      ;;
  esac
  "$PY" "$LIB" wait-listen "${PORT[$name]}" 20 || { tail -20 "$dir/log" >&2; fail "$name does not listen"; }
  alive "$name" || { tail -20 "$dir/log" >&2; fail "$name exited"; }
}

# the order of targets in round R: as given for odd rounds, reversed for even ones
order_for() {
  local r=$1 i out=()
  if [ $((r % 2)) = 1 ]; then out=("${TLIST[@]}")
  else for ((i = ${#TLIST[@]} - 1; i >= 0; i--)); do out+=("${TLIST[$i]}"); done; fi
  echo "${out[*]}"
}

# stop the proxies of one part; note how the project proxy reacted to SIGTERM
stop_targets() {
  local part=$1 t
  for t in "${TLIST[@]}"; do
    [ "$t" = direct ] && continue
    if ! alive "$t"; then
      stop "$t"
      NOTES+=("$part: $t was no longer running at the end of the part (exit status $STOP_RC; see its log)")
      continue
    fi
    stop "$t"
    [ "$t" = proxy ] && NOTES+=("$part: proxy SIGTERM -> exit status $STOP_RC after $STOP_SECS s")
  done
  return 0
}

save_dir() {  # copy configs and logs of a part to --out
  [ -n "$OUT" ] || return 0
  mkdir -p "$OUT/$1"
  cp -r "$TMP/$1/." "$OUT/$1/" 2>/dev/null || true
}

BUSY_BEFORE=$("$PY" "$LIB" busy 2)
say "cores busy before start (other tenants): $BUSY_BEFORE"
say "targets: ${TLIST[*]}; proxy: ${PROXY_BIN:-none} $PROXY_ARGS; pinning: $([ "$PIN" = 1 ] && echo "proxy on cpu$CPU_PROXY, client and target servers on cpu$CPU_LOAD" || echo off)"

# ------------------------------------------------------------------------- part 1: throughput
if has "$PARTS" tput; then
  D=$TMP/tput
  mkdir -p "$D"
  start iperf3 "$CPU_LOAD" "$D/iperf3-server.log" iperf3 -s -B 127.0.0.1 -p "$TARGET_PORT"
  "$PY" "$LIB" wait-listen "$TARGET_PORT" 10 || fail "iperf3 server does not listen"
  for t in "${TLIST[@]}"; do [ "$t" = direct ] || start_target "$t" "$D/$t" "$TARGET_PORT"; done
  for t in "${TLIST[@]}"; do  # functional check and warm-up: 1 s through each target
    fg timeout 20 "${LOAD[@]}" iperf3 -c 127.0.0.1 -p "${PORT[$t]}" -t 1 --connect-timeout 3000 \
      >"$D/check-$t.log" 2>&1 || { cat "$D/check-$t.log" >&2; fail "iperf3 through $t failed"; }
    sleep 0.3
  done
  say "part tput: iperf3 -t $DURATION, -P {$STREAMS}, $ROUNDS rounds"
  IFS=, read -r -a SLIST <<<"$STREAMS"
  for s in "${SLIST[@]}"; do
    for r in $(seq "$ROUNDS"); do
      for t in $(order_for "$r"); do
        pid=0
        if [ "$t" != direct ]; then
          alive "$t" || { say "$t is not running; skipping"; continue; }
          pid=${PID[$t]}
        fi
        fg "$PY" "$LIB" run --jsonl "$JSONL" --kind iperf3 --group "tput-P$s" --target "$t" \
          --round "$r" --pid "$pid" "${RUNPIN[@]}" --timeout $((DURATION + 30)) -- \
          "${LOAD[@]}" iperf3 -c 127.0.0.1 -p "${PORT[$t]}" -t "$DURATION" -P "$s" -J \
          --connect-timeout 3000
        sleep 0.5   # the iperf3 server needs a moment before it takes the next test
      done
    done
  done
  stop_targets tput
  stop iperf3
  save_dir tput
fi

# ------------------------------------------------------------------------- part 2: connection rate
if has "$PARTS" connrate; then
  D=$TMP/connrate
  mkdir -p "$D/origin/tmp"
  body=$(printf '%0100d' 0)
  cat >"$D/origin/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $D/origin/nginx.pid;
error_log $D/origin/error.log error;
worker_rlimit_nofile 20000;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $D/origin/tmp/body;
  proxy_temp_path $D/origin/tmp/proxy;
  fastcgi_temp_path $D/origin/tmp/fastcgi;
  uwsgi_temp_path $D/origin/tmp/uwsgi;
  scgi_temp_path $D/origin/tmp/scgi;
  server {
    listen 127.0.0.1:$TARGET_PORT backlog=4096;
    location = / { default_type text/plain; return 200 "$body"; }
    location = /stub_status { stub_status; }
  }
}
EOF
  nginx -t -q -p "$D/origin" -c "$D/origin/nginx.conf" -e "$D/origin/error.log" ||
    fail "bad nginx config $D/origin/nginx.conf"
  start origin "$CPU_LOAD" "$D/origin/log" nginx -p "$D/origin" -c "$D/origin/nginx.conf" \
    -e "$D/origin/error.log"
  "$PY" "$LIB" wait-http "http://127.0.0.1:$TARGET_PORT/" 100 10 || fail "nginx origin not ready"
  for t in "${TLIST[@]}"; do [ "$t" = direct ] || start_target "$t" "$D/$t" "$TARGET_PORT"; done
  for t in "${TLIST[@]}"; do  # functional check and warm-up
    "$PY" "$LIB" wait-http "http://127.0.0.1:${PORT[$t]}/" 100 10 || fail "GET through $t failed"
    fg timeout 20 "${LOAD[@]}" wrk -t1 -c"$CR_CONNS" -d1s -H "Connection: close" \
      "http://127.0.0.1:${PORT[$t]}/" >"$D/warmup-$t.log" 2>&1 || say "warm-up through $t failed"
  done
  say "part connrate: wrk -c $CR_CONNS -d $CR_DURATION with 'Connection: close', $ROUNDS rounds"
  for r in $(seq "$ROUNDS"); do
    for t in $(order_for "$r"); do
      pid=0
      if [ "$t" != direct ]; then
        alive "$t" || { say "$t is not running; skipping"; continue; }
        pid=${PID[$t]}
      fi
      fg "$PY" "$LIB" run --jsonl "$JSONL" --kind wrk --group connrate --target "$t" --round "$r" \
        --pid "$pid" "${RUNPIN[@]}" --origin-status "http://127.0.0.1:$TARGET_PORT/stub_status" \
        --timeout $((CR_DURATION + 30)) -- \
        "${LOAD[@]}" wrk -t1 -c"$CR_CONNS" -d"${CR_DURATION}s" --timeout 5s --latency \
        -H "Connection: close" "http://127.0.0.1:${PORT[$t]}/"
    done
  done
  stop_targets connrate
  stop origin
  save_dir connrate
fi

# ------------------------------------------------------------------------- report
{
  echo "command: $CMDLINE"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  host: $(uname -r), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "proxy: ${PROXY_BIN:-none} $PROXY_ARGS"
  echo "versions: haproxy $(haproxy -v 2>/dev/null | head -1 | awk '{print $3}'); $(iperf3 --version 2>/dev/null | head -1 | awk '{print $1, $2}'); nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'); $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
  echo "settings: rounds $ROUNDS, iperf3 ${DURATION}s with -P $STREAMS, wrk -t1 -c$CR_CONNS ${CR_DURATION}s, pinning $([ "$PIN" = 1 ] && echo "proxy cpu$CPU_PROXY / load cpu$CPU_LOAD" || echo off)"
  echo "machine before start: $BUSY_BEFORE busy over 2 s; loadavg at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$TMP/meta.txt"
if [ -n "$OUT" ]; then
  mkdir -p "$OUT"
  cp "$TMP/meta.txt" "$JSONL" "$OUT/"
  { echo "## TCP benchmark"; echo; sed 's/^/    /' "$TMP/meta.txt"; echo; } >"$OUT/summary.md"
fi
echo
cat "$TMP/meta.txt"
echo
"$PY" "$LIB" report --jsonl "$JSONL" --targets "$TARGETS" --ref haproxy ${OUT:+--out "$OUT"}
if [ ${#NOTES[@]} -gt 0 ]; then
  printf '%s\n' "${NOTES[@]}" | sed 's/^/- /'
  [ -n "$OUT" ] && printf '%s\n' "${NOTES[@]}" | sed 's/^/- /' >>"$OUT/summary.md"
fi
[ -n "$OUT" ] && say "results in $OUT (summary.md, runs.jsonl, configs and logs per part)"
exit 0
