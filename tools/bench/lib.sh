# tools/bench/lib.sh - what http.sh, tcp.sh, routes.sh and idle.sh share: option parsing
# helpers, package installation, the temp dir, starting and stopping processes by PID
# (with the EXIT/INT/TERM traps), taskset pinning, free ports, the open-files limit, the
# alternating target order, and the nginx / HAProxy HTTP configs.  Sourced, never run.
# See tools/bench/README.md.
# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables set here are read by the scripts that source it

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/../.." && pwd)
LIB="$BENCH_DIR/benchlib.py"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# Defaults every script shares; a script may change them before parse_common runs.
PROXY_BIN=""
[ -x "$REPO/build/proxy" ] && PROXY_BIN="$REPO/build/proxy"
PROXY_ARGS="--workers 1"
OUT=""
PIN=1
CPU_PROXY=1
CPU_LOAD=0
INSTALL=1
KEEP_TMP=0

COMMON_USAGE="  --proxy BIN         proxy binary (default: $REPO/build/proxy if it exists)
  --proxy-args ARGS   extra arguments for it (default: \"$PROXY_ARGS\")
  --out DIR           write summary.md, runs.jsonl, meta.txt, configs and logs to DIR
  --cpu-proxy N       core for the proxy under test (default $CPU_PROXY)
  --cpu-load N        core for the load generator and the origin (default $CPU_LOAD)
  --no-pin            don't pin with taskset
  --no-install        don't apt-get install missing packages
  --keep-tmp          keep the temp dir (configs, logs)
  -h, --help          this help"

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
fail() { say "ERROR: $*"; exit 1; }
has() { [[ ",$1," == *",$2,"* ]]; }

# parse_common OPT VALUE: consume one of the options in COMMON_USAGE.  Returns 1 when OPT
# is not one of them; otherwise sets SHIFT_N to the number of words it took.
SHIFT_N=0
parse_common() {
  SHIFT_N=2
  case "$1" in
    --proxy|--proxy-args|--out|--cpu-proxy|--cpu-load) [ $# -ge 2 ] || fail "$1 needs a value" ;;
  esac
  case "$1" in
    --proxy) PROXY_BIN=$2 ;;
    --proxy-args) PROXY_ARGS=$2 ;;
    --out) OUT=$2 ;;
    --cpu-proxy) CPU_PROXY=$2 ;;
    --cpu-load) CPU_LOAD=$2 ;;
    --no-pin) PIN=0; SHIFT_N=1 ;;
    --no-install) INSTALL=0; SHIFT_N=1 ;;
    --keep-tmp) KEEP_TMP=1; SHIFT_N=1 ;;
    *) return 1 ;;
  esac
  return 0
}

# need_value "$@": a script option (all of them take a value) must have one
need_value() {
  case "$1" in
    -h|--help) ;;
    *) [ $# -ge 2 ] || fail "$1: unknown option, or it needs a value" ;;
  esac
}

# need_ints N...: every argument must be a positive integer
need_ints() {
  local n
  for n in "$@"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || fail "not a positive integer: $n"
  done
}

# need_list LIST ALLOWED...: every comma-separated item of LIST must be one of ALLOWED
need_list() {
  local what=$1 list=$2 item a ok
  shift 2
  [ -n "$list" ] || fail "empty $what list"
  IFS=, read -r -a _items <<<"$list"
  for item in "${_items[@]}"; do
    ok=0
    for a in "$@"; do [ "$item" = "$a" ] && ok=1; done
    [ "$ok" = 1 ] || fail "unknown $what: $item (one of: $*)"
  done
}

# check_proxy_bin: PROXY_BIN must be an executable; made absolute
check_proxy_bin() {
  [ -n "$PROXY_BIN" ] || fail "no proxy binary: build it or pass --proxy BIN (or drop 'proxy' from --targets)"
  [ -x "$PROXY_BIN" ] || fail "--proxy $PROXY_BIN is not executable"
  PROXY_BIN=$(readlink -f "$PROXY_BIN")
}

# check_pinning: no pinning on a one-core machine; sets LOAD (prefix for load commands)
# and RUNPIN (benchlib.py run options naming the cores)
LOAD=()
RUNPIN=()
check_pinning() {
  if [ "$PIN" = 1 ] && [ "$(nproc)" -lt 2 ]; then
    say "only $(nproc) core: pinning disabled"
    PIN=0
  fi
  need_ints $((CPU_PROXY + 1)) $((CPU_LOAD + 1))
  LOAD=()
  RUNPIN=()
  if [ "$PIN" = 1 ]; then
    LOAD=(taskset -c "$CPU_LOAD")
    RUNPIN=(--proxy-core "$CPU_PROXY" --load-core "$CPU_LOAD")
  fi
}

pin_desc() {  # one line saying where things run
  if [ "$PIN" = 1 ]; then echo "proxy on cpu$CPU_PROXY, load and origin on cpu$CPU_LOAD"; else echo off; fi
}

# ensure_packages PKG...: install the Debian packages that dpkg-query does not report as
# installed (apt-get update once, then apt-get install), unless --no-install
ensure_packages() {
  local p missing=()
  command -v "$PY" >/dev/null || set -- "$@" python3
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  [ "$INSTALL" = 1 ] || fail "missing packages (and --no-install): ${missing[*]}"
  [ "$(id -u)" = 0 ] || fail "missing packages ${missing[*]}; run as root or install them"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  timeout 300 apt-get -q update >/dev/null || say "apt-get update failed; trying the install anyway"
  timeout 600 apt-get -q install -y --no-install-recommends "${missing[@]}" >/dev/null ||
    fail "apt-get install failed"
}

need_cmds() {  # need_cmds CMD...: each must be on PATH
  local c
  for c in "$@"; do command -v "$c" >/dev/null || fail "$c not found"; done
}

# raise_nofile [WANT]: raise the soft open-files limit to the hard one (every process we
# start inherits it); with WANT, fail when even the hard limit is below it
raise_nofile() {
  local want=${1:-0} hard
  hard=$(ulimit -Hn)
  ulimit -n "$hard" 2>/dev/null || true
  if [ "$want" -gt 0 ] && [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
    fail "the open-files hard limit ($hard) is below the $want needed; lower the count or raise the limit"
  fi
}

# pick_ports BASE N: set the array P to N free TCP ports on 127.0.0.1 from BASE on
P=()
pick_ports() {
  local ports
  ports=$("$PY" "$LIB" ports "$1" "$2") || fail "no free ports from $1"
  read -r -a P <<<"$ports"
}

# ------------------------------------------------------------------------- processes
TMP=""
declare -a PIDS=()      # every background process we started, in start order
declare -A PID=()       # name -> pid

# make_tmp NAME: the temp dir /tmp/NAME.XXXXXX (TMP), removed on exit unless --keep-tmp;
# installs the traps that stop every process we started
make_tmp() {
  TMP=$(mktemp -d "/tmp/$1.XXXXXX")
  trap cleanup EXIT
  trap 'say interrupted; exit 130' INT
  trap 'say terminated; exit 143' TERM
}

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
  if [ -n "$TMP" ]; then
    if [ "$KEEP_TMP" = 1 ]; then say "kept $TMP"; else rm -rf "$TMP"; fi
  fi
  exit "$rc"
}

# start NAME CORE LOG CMD... (taskset and env exec, so $! is the program itself)
start() {
  local name=$1 core=$2 log=$3
  shift 3
  if [ "$PIN" = 1 ]; then set -- taskset -c "$core" "$@"; fi
  "$@" >"$log" 2>&1 </dev/null &
  PID[$name]=$!
  PIDS+=("$!")
}

forget_pid() {  # forget_pid PID: no longer ours to stop
  local p keep=()
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

stop() {  # stop NAME (sets STOP_RC and STOP_SECS)
  local name=$1 pid=${PID[$1]:-}
  STOP_RC=-; STOP_SECS=-
  [ -n "$pid" ] || return 0
  stop_pid "$pid" 8
  unset "PID[$name]"
  forget_pid "$pid"
}

# fg CMD...: run CMD in the background and wait for it, so that a signal's trap runs at
# once (bash defers traps until a foreground command ends) and cleanup can stop it.
fg() {
  local pid rc=0
  "$@" &
  pid=$!
  PIDS+=("$pid")
  wait "$pid" || rc=$?
  forget_pid "$pid"
  return "$rc"
}

alive() { [ -n "${PID[$1]:-}" ] && ! "$PY" "$LIB" stopped "${PID[$1]}"; }

# the order of targets in round R: TLIST as given for odd rounds, reversed for even ones
order_for() {
  local r=$1 i out=()
  if [ $((r % 2)) = 1 ]; then out=("${TLIST[@]}")
  else for ((i = ${#TLIST[@]} - 1; i >= 0; i--)); do out+=("${TLIST[$i]}"); done; fi
  echo "${out[*]}"
}

# write_meta FILE SETTINGS-LINE VERSIONS-LINE: the run's settings, for the report
write_meta() {
  {
    echo "command: $CMDLINE"
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  host: $(uname -r), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo "proxy: ${PROXY_BIN:-none} $PROXY_ARGS"
    echo "versions: $3"
    echo "settings: $2"
    echo "machine before start: ${BUSY_BEFORE:-?} busy over 2 s, loadavg ${LOAD_BEFORE:-?}; loadavg at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  } >"$1"
}

# report TITLE META JSONL TARGETS REF: print the settings and the tables (and write them
# to --out), then the NOTES
report() {
  local title=$1 meta=$2 jsonl=$3 targets=$4 ref=$5
  if [ -n "$OUT" ]; then
    mkdir -p "$OUT"
    cp "$meta" "$jsonl" "$OUT/"
    { echo "## $title"; echo; sed 's/^/    /' "$meta"; echo; } >"$OUT/summary.md"
  fi
  echo
  cat "$meta"
  echo
  "$PY" "$LIB" report --jsonl "$jsonl" --targets "$targets" --ref "$ref" "${REPORT_ARGS[@]}" \
    ${OUT:+--out "$OUT"}
  if [ ${#NOTES[@]} -gt 0 ]; then
    printf '%s\n' "${NOTES[@]}" | sed 's/^/- /'
    if [ -n "$OUT" ]; then printf '%s\n' "${NOTES[@]}" | sed 's/^/- /' >>"$OUT/summary.md"; fi
  fi
  return 0
}
NOTES=()
REPORT_ARGS=()   # more benchlib.py report options

machine_before() {  # how busy the machine is before we start anything
  BUSY_BEFORE=$("$PY" "$LIB" busy 2)
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
  say "cores busy before start (other tenants): $BUSY_BEFORE; loadavg $LOAD_BEFORE"
}

# ------------------------------------------------------------------------- peer configs
# nginx_temp DIR: temp paths inside DIR (nginx must not touch the system's)
nginx_temp() {
  local d=$1/tmp
  printf '  client_body_temp_path %s/body;\n  proxy_temp_path %s/proxy;\n' "$d" "$d"
  printf '  fastcgi_temp_path %s/fastcgi;\n  uwsgi_temp_path %s/uwsgi;\n  scgi_temp_path %s/scgi;\n' "$d" "$d" "$d"
}

# nginx_head DIR WORKER_CONNS: the main context of a one-worker nginx under prefix DIR
nginx_head() {
  local nofile=$(($2 * 2 + 3000))
  [ "$nofile" -ge 20000 ] || nofile=20000
  cat <<EOF
worker_processes 1;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log error;
worker_rlimit_nofile $nofile;
events { worker_connections $2; }
EOF
}

# write_nginx_origin DIR PORT WORKER_CONNS: the origin: GET / -> 100 bytes, GET /1m ->
# DIR/html/1m (1 MiB of random bytes), /stub_status
write_nginx_origin() {
  local dir=$1 port=$2 wc=$3
  mkdir -p "$dir/tmp" "$dir/html"
  [ -f "$dir/html/1m" ] || head -c 1048576 /dev/urandom >"$dir/html/1m"
  # nginx's worker drops root for an unprivileged user: it must be able to read the file
  chmod 755 "$TMP" "$dir" "$dir/html"
  chmod 644 "$dir/html/1m"
  cat >"$dir/nginx.conf" <<EOF
$(nginx_head "$dir" "$wc")
http {
  access_log off;
$(nginx_temp "$dir")
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 120s;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$port backlog=4096;
    root $dir/html;
    location = / { default_type text/plain; return 200 "$(printf '%0100d' 0)"; }
    location = /1m { default_type application/octet-stream; }
    location = /stub_status { stub_status; }
  }
}
EOF
}

# write_nginx_proxy DIR PORT UPSTREAM_PORT WORKER_CONNS: nginx as a keep-alive reverse proxy
write_nginx_proxy() {
  local dir=$1 port=$2 up=$3 wc=$4
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
$(nginx_head "$dir" "$wc")
http {
  access_log off;
$(nginx_temp "$dir")
  keepalive_timeout 120s;
  keepalive_requests 100000000;
  upstream origin {
    server 127.0.0.1:$up;
    keepalive 1024;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
  }
  server {
    listen 127.0.0.1:$port backlog=4096;
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
}

# write_haproxy_http DIR PORT UPSTREAM_PORT MAXCONN: HAProxy, mode http, keep-alive both ways
write_haproxy_http() {
  local dir=$1 port=$2 up=$3 mc=$4
  mkdir -p "$dir"
  cat >"$dir/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn $mc
    no strict-limits
defaults
    mode http
    option http-keep-alive
    http-reuse always
    maxconn $mc
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 120s
listen http_bench
    bind 127.0.0.1:$port
    server origin 127.0.0.1:$up
EOF
}

# start_nginx NAME CORE DIR : nginx with DIR/nginx.conf, prefix DIR
start_nginx() {
  local name=$1 core=$2 dir=$3
  nginx -t -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" || fail "bad nginx config $dir/nginx.conf"
  start "$name" "$core" "$dir/log" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
}

start_haproxy() {  # start_haproxy NAME CORE DIR : haproxy with DIR/haproxy.cfg
  local name=$1 core=$2 dir=$3
  haproxy -c -q -f "$dir/haproxy.cfg" || fail "bad haproxy config $dir/haproxy.cfg"
  start "$name" "$core" "$dir/log" haproxy -db -f "$dir/haproxy.cfg"
}

# start_proxy NAME DIR ADMIN_PORT : this proxy with DIR/config.yml; the admin API on a
# free port through INTERNAL_API_PORT so it never collides with one on :42007
start_proxy() {
  local name=$1 dir=$2 admin=$3
  # shellcheck disable=SC2086  # PROXY_ARGS is split into words on purpose
  start "$name" "$CPU_PROXY" "$dir/log" env INTERNAL_API_PORT="127.0.0.1:$admin" \
    "$PROXY_BIN" -c "$dir/config.yml" $PROXY_ARGS
}

# ready NAME PORT DIR [SECONDS]: NAME listens on PORT and still runs, else show its log and fail
ready() {
  local name=$1 port=$2 dir=$3 secs=${4:-20}
  "$PY" "$LIB" wait-listen "$port" "$secs" || { tail -20 "$dir/log" >&2; fail "$name does not listen"; }
  alive "$name" || { tail -20 "$dir/log" >&2; fail "$name exited"; }
}
