#!/usr/bin/env bash
# tools/bench/http.sh - HTTP/1.1 reverse-proxy benchmark of this proxy beside nginx and
# HAProxy (one worker each, upstream keep-alive) and a direct connection, on loopback.
# See tools/bench/README.md.
#
#   origin:     nginx, 1 worker: GET / -> 200 with a 100-byte body, GET /1m -> 1 MiB
#               static file; keep-alive, no logs, stub_status for connection counts.
#   scenarios:  small (GET /) and large (GET /1m), wrk -t1 -c64 --latency, keep-alive;
#               req/s, p50/p99, proxy CPU us per request, proxy RSS after the run.
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
DURATION=10
CONNS=64
WARMUP=2
SCENARIOS=small,large
TARGETS=direct,nginx,haproxy,proxy
OUT=""
PIN=1
CPU_PROXY=1
CPU_LOAD=0
INSTALL=1
KEEP_TMP=0
BASE_PORT=24200

usage() {
  cat <<EOF
usage: $0 [options]

HTTP benchmark: wrk (keep-alive) through nginx / HAProxy (one worker each, upstream
keep-alive) / this proxy, and direct to the origin; 100 B and 1 MiB bodies.

  --proxy BIN         proxy binary (default: $REPO/build/proxy if it exists)
  --proxy-args ARGS   extra arguments for it (default: "$PROXY_ARGS")
  --rounds N          rounds; target order alternates each round (default $ROUNDS)
  --duration S        seconds per wrk run (default $DURATION)
  --conns N           wrk connections (default $CONNS)
  --warmup S          seconds of wrk warm-up per target and scenario (default $WARMUP)
  --scenarios LIST    small (GET /, 100 B), large (GET /1m, 1 MiB) (default $SCENARIOS)
  --targets LIST      any of direct,nginx,haproxy,proxy (default $TARGETS)
  --out DIR           write summary.md, runs.jsonl, meta.txt, configs and logs to DIR
  --cpu-proxy N       core for the proxy under test (default $CPU_PROXY)
  --cpu-load N        core for wrk and the origin (default $CPU_LOAD)
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
    -c|--conns) CONNS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --scenarios) SCENARIOS=$2; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
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

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { say "ERROR: $*"; exit 1; }
has() { [[ ",$1," == *",$2,"* ]]; }

for n in "$ROUNDS" "$DURATION" "$CONNS" "$WARMUP" "$BASE_PORT"; do
  if ! [[ "$n" =~ ^[1-9][0-9]*$ ]]; then fail "not a positive integer: $n"; fi
done
IFS=, read -r -a TLIST <<<"$TARGETS"
for t in "${TLIST[@]}"; do
  case "$t" in direct|nginx|haproxy|proxy) ;; *) fail "unknown target: $t" ;; esac
done
IFS=, read -r -a SLIST <<<"$SCENARIOS"
for s in "${SLIST[@]}"; do
  case "$s" in small|large) ;; *) fail "unknown scenario: $s" ;; esac
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
need=(nginx wrk curl util-linux)
has "$TARGETS" haproxy && need+=(haproxy)
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
  timeout 300 apt-get -q update >/dev/null || say "apt-get update failed; trying the install anyway"
  timeout 600 apt-get -q install -y --no-install-recommends "${missing[@]}" >/dev/null ||
    fail "apt-get install failed"
fi
for c in nginx wrk curl taskset; do command -v "$c" >/dev/null || fail "$c not found"; done
if has "$TARGETS" haproxy; then command -v haproxy >/dev/null || fail "haproxy not found"; fi

# ------------------------------------------------------------------------- processes
TMP=$(mktemp -d /tmp/httpbench.XXXXXX)
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
ports=$("$PY" "$LIB" ports "$BASE_PORT" 5) || fail "no free ports from $BASE_PORT"
read -r -a P <<<"$ports"
ORIGIN_PORT=${P[0]}
declare -A PORT=([direct]=${P[0]} [nginx]=${P[1]} [haproxy]=${P[2]} [proxy]=${P[3]})
ADMIN_PORT=${P[4]}
JSONL="$TMP/runs.jsonl"
: >"$JSONL"
LOAD=()
[ "$PIN" = 1 ] && LOAD=(taskset -c "$CPU_LOAD")
RUNPIN=()
[ "$PIN" = 1 ] && RUNPIN=(--proxy-core "$CPU_PROXY" --load-core "$CPU_LOAD")
NOTES=()
declare -A SPATH=([small]=/ [large]=/1m)
declare -A SLEN=([small]=100 [large]=1048576)

# nginx_temp DIR: temp paths inside DIR (nginx must not touch the system's)
nginx_temp() {
  local d=$1/tmp
  printf '  client_body_temp_path %s/body;\n  proxy_temp_path %s/proxy;\n' "$d" "$d"
  printf '  fastcgi_temp_path %s/fastcgi;\n  uwsgi_temp_path %s/uwsgi;\n  scgi_temp_path %s/scgi;\n' "$d" "$d" "$d"
}

# start_nginx NAME CORE DIR : nginx with DIR/nginx.conf, prefix DIR
start_nginx() {
  local name=$1 core=$2 dir=$3
  nginx -t -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" || fail "bad nginx config $dir/nginx.conf"
  start "$name" "$core" "$dir/log" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
}

start_origin() {
  local dir=$TMP/origin
  mkdir -p "$dir/tmp" "$dir/html"
  head -c 1048576 /dev/urandom >"$dir/html/1m"
  # nginx's worker drops root for an unprivileged user: it must be able to read the file
  chmod 755 "$TMP" "$dir" "$dir/html"
  chmod 644 "$dir/html/1m"
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log error;
worker_rlimit_nofile 20000;
events { worker_connections 8192; }
http {
  access_log off;
$(nginx_temp "$dir")
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 120s;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$ORIGIN_PORT backlog=4096;
    root $dir/html;
    location = / { default_type text/plain; return 200 "$(printf '%0100d' 0)"; }
    location = /1m { default_type application/octet-stream; }
    location = /stub_status { stub_status; }
  }
}
EOF
  start_nginx origin "$CPU_LOAD" "$dir"
  "$PY" "$LIB" wait-http "http://127.0.0.1:$ORIGIN_PORT/" 100 10 || fail "nginx origin not ready"
}

# start_target NAME : one HTTP reverse proxy listening on PORT[NAME], upstream = origin
start_target() {
  local name=$1 dir=$TMP/$1
  mkdir -p "$dir/tmp"
  case "$name" in
    nginx)
      cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log error;
worker_rlimit_nofile 20000;
events { worker_connections 8192; }
http {
  access_log off;
$(nginx_temp "$dir")
  keepalive_timeout 120s;
  keepalive_requests 100000000;
  upstream origin {
    server 127.0.0.1:$ORIGIN_PORT;
    keepalive 1024;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
  }
  server {
    listen 127.0.0.1:${PORT[nginx]} backlog=4096;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffers 8 16k;
      proxy_max_temp_file_size 0;
    }
  }
}
EOF
      start_nginx nginx "$CPU_PROXY" "$dir"
      ;;
    haproxy)
      cat >"$dir/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 20000
    no strict-limits
defaults
    mode http
    option http-keep-alive
    http-reuse always
    maxconn 20000
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 120s
listen http_bench
    bind 127.0.0.1:${PORT[haproxy]}
    server origin 127.0.0.1:$ORIGIN_PORT
EOF
      haproxy -c -q -f "$dir/haproxy.cfg" || fail "bad haproxy config $dir/haproxy.cfg"
      start haproxy "$CPU_PROXY" "$dir/log" haproxy -db -f "$dir/haproxy.cfg"
      ;;
    proxy)
      cat >"$dir/config.yml" <<EOF
http_routes:
  - target: "http://127.0.0.1:$ORIGIN_PORT"
    host: "127.0.0.1"
    path_prefix: "/"
http_config:
  port: ":${PORT[proxy]}"
  shutdown_timeout: "5s"
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

# check TARGET SCENARIO: curl must get 200 with the right body size
check() {
  local t=$1 s=$2 url got
  url="http://127.0.0.1:${PORT[$t]}${SPATH[$s]}"
  got=$(curl -s -o /dev/null --max-time 10 -w '%{http_code} %{size_download}' "$url" || true)
  if [ "$got" != "200 ${SLEN[$s]}" ]; then
    curl -s -i --max-time 5 "$url" 2>&1 | head -c 600 >&2 || true
    tail -20 "$TMP/$t/log" >&2 2>/dev/null || true
    fail "GET $url through $t: got '$got', want '200 ${SLEN[$s]}'"
  fi
}

# the order of targets in round R: as given for odd rounds, reversed for even ones
order_for() {
  local r=$1 i out=()
  if [ $((r % 2)) = 1 ]; then out=("${TLIST[@]}")
  else for ((i = ${#TLIST[@]} - 1; i >= 0; i--)); do out+=("${TLIST[$i]}"); done; fi
  echo "${out[*]}"
}

BUSY_BEFORE=$("$PY" "$LIB" busy 2)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "cores busy before start (other tenants): $BUSY_BEFORE; loadavg $LOAD_BEFORE"
say "targets: ${TLIST[*]}; proxy: ${PROXY_BIN:-none} $PROXY_ARGS; pinning: $([ "$PIN" = 1 ] && echo "proxies on cpu$CPU_PROXY, wrk and origin on cpu$CPU_LOAD" || echo off)"

start_origin
for t in "${TLIST[@]}"; do [ "$t" = direct ] || start_target "$t"; done
for s in "${SLIST[@]}"; do
  for t in "${TLIST[@]}"; do check "$t" "$s"; done
done
say "functional check ok: every target answers 200 with the right body size"

for s in "${SLIST[@]}"; do
  url_path=${SPATH[$s]}
  for t in "${TLIST[@]}"; do  # warm-up
    fg timeout $((WARMUP + 20)) "${LOAD[@]}" wrk -t1 -c"$CONNS" -d"${WARMUP}s" --timeout 5s \
      "http://127.0.0.1:${PORT[$t]}$url_path" >"$TMP/warmup-$s-$t.log" 2>&1 ||
      say "warm-up through $t failed (see $TMP/warmup-$s-$t.log)"
  done
  say "scenario $s: wrk -t1 -c$CONNS -d$DURATION --latency GET $url_path, $ROUNDS rounds"
  for r in $(seq "$ROUNDS"); do
    for t in $(order_for "$r"); do
      pid=0
      if [ "$t" != direct ]; then
        alive "$t" || { say "$t is not running; skipping"; continue; }
        pid=${PID[$t]}
      fi
      fg "$PY" "$LIB" run --jsonl "$JSONL" --kind wrk --unit req --group "http-$s" --target "$t" \
        --round "$r" --pid "$pid" "${RUNPIN[@]}" \
        --origin-status "http://127.0.0.1:$ORIGIN_PORT/stub_status" \
        --timeout $((DURATION + 30)) -- \
        "${LOAD[@]}" wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency \
        "http://127.0.0.1:${PORT[$t]}$url_path"
    done
  done
done

for t in "${TLIST[@]}"; do
  [ "$t" = direct ] && continue
  if ! alive "$t"; then
    stop "$t"
    NOTES+=("$t was no longer running at the end (exit status $STOP_RC; see its log)")
    continue
  fi
  stop "$t"
  [ "$t" = proxy ] && NOTES+=("proxy SIGTERM -> exit status $STOP_RC after $STOP_SECS s")
done
stop origin
if [ -n "$OUT" ]; then
  for d in origin nginx haproxy proxy; do
    [ -d "$TMP/$d" ] || continue
    mkdir -p "$OUT/$d"
    find "$TMP/$d" -maxdepth 1 -type f ! -name 1m -exec cp {} "$OUT/$d/" \; 2>/dev/null || true
  done
  cp "$TMP"/warmup-*.log "$OUT/" 2>/dev/null || true
fi

# ------------------------------------------------------------------------- report
{
  echo "command: $CMDLINE"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  host: $(uname -r), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "proxy: ${PROXY_BIN:-none} $PROXY_ARGS"
  echo "versions: nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'); haproxy $(haproxy -v 2>/dev/null | head -1 | awk '{print $3}'); $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
  echo "settings: rounds $ROUNDS, wrk -t1 -c$CONNS ${DURATION}s --latency (warm-up ${WARMUP}s), scenarios $SCENARIOS, pinning $([ "$PIN" = 1 ] && echo "proxy cpu$CPU_PROXY / wrk+origin cpu$CPU_LOAD" || echo off)"
  echo "machine before start: $BUSY_BEFORE busy over 2 s, loadavg $LOAD_BEFORE; loadavg at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$TMP/meta.txt"
if [ -n "$OUT" ]; then
  mkdir -p "$OUT"
  cp "$TMP/meta.txt" "$JSONL" "$OUT/"
  { echo "## HTTP benchmark"; echo; sed 's/^/    /' "$TMP/meta.txt"; echo; } >"$OUT/summary.md"
fi
echo
cat "$TMP/meta.txt"
echo
"$PY" "$LIB" report --jsonl "$JSONL" --targets "$TARGETS" --ref nginx ${OUT:+--out "$OUT"}
if [ ${#NOTES[@]} -gt 0 ]; then
  printf '%s\n' "${NOTES[@]}" | sed 's/^/- /'
  [ -n "$OUT" ] && printf '%s\n' "${NOTES[@]}" | sed 's/^/- /' >>"$OUT/summary.md"
fi
[ -n "$OUT" ] && say "results in $OUT (summary.md, runs.jsonl, meta.txt, configs and logs)"
exit 0
