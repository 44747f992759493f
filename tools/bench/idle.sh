#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tools/bench/idle.sh - memory per idle keep-alive HTTP connection: this proxy beside nginx
# and HAProxy (one worker each).  For every round and target a FRESH process is started;
# the asyncio client in benchlib.py ("idle") warms it up, reads its VmRSS, opens N
# connections with one GET each, holds them idle, reads VmRSS again, checks a sample still
# answers, closes them all (RST) and reads VmRSS a third time.
# Reported: (VmRSS idle - VmRSS before) / N in KiB.  See tools/bench/README.md.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=3
NCONN=10000
HOLD=3
BATCH=100
TARGETS=nginx,haproxy,proxy
BASE_PORT=24400

usage() {
  cat <<EOF
usage: $0 [options]

Idle keep-alive connections: VmRSS growth per connection with N connections open and idle,
each after one GET, for nginx / HAProxy (one worker each) / this proxy, and optionally
direct (a fresh nginx that answers by itself: the floor of an event-loop server).

  -n, --conns N       idle connections (default $NCONN)
  -r, --rounds N      rounds, a fresh process each; the order alternates (default $ROUNDS)
  --hold S            seconds to hold them idle before reading VmRSS (default $HOLD)
  --batch N           connections being opened at once (default $BATCH)
  --targets LIST      any of direct,nginx,haproxy,proxy (default $TARGETS)
  --base-port N       first port to try (default $BASE_PORT)
$COMMON_USAGE
EOF
}

CMDLINE="$0 $*"
while [ $# -gt 0 ]; do
  if parse_common "$@"; then shift "$SHIFT_N"; continue; fi
  need_value "$@"
  case "$1" in
    -n|--conns) NCONN=$2; shift 2 ;;
    -r|--rounds) ROUNDS=$2; shift 2 ;;
    --hold) HOLD=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    --base-port) BASE_PORT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

need_ints "$NCONN" "$ROUNDS" "$HOLD" "$BATCH" "$BASE_PORT"
need_list target "$TARGETS" direct nginx haproxy proxy
IFS=, read -r -a TLIST <<<"$TARGETS"
if has "$TARGETS" proxy; then check_proxy_bin; fi
check_pinning

pkgs=(nginx util-linux)
has "$TARGETS" haproxy && pkgs+=(haproxy)
ensure_packages "${pkgs[@]}"
need_cmds nginx taskset
if has "$TARGETS" haproxy; then need_cmds haproxy; fi

# the client holds N sockets, a proxy N plus its upstream ones: every process we start
# inherits the soft limit raised to the hard one
raise_nofile $((NCONN + 1024))
make_tmp idlebench
pick_ports "$BASE_PORT" 6
ORIGIN_PORT=${P[0]}
declare -A PORT=([direct]=${P[1]} [nginx]=${P[2]} [haproxy]=${P[3]} [proxy]=${P[4]})
ADMIN_PORT=${P[5]}
MAXCONN=$((NCONN + 2048))
JSONL="$TMP/runs.jsonl"
: >"$JSONL"

# start_target NAME DIR: a fresh server for one round, listening on PORT[NAME]
start_target() {
  local name=$1 dir=$2
  mkdir -p "$dir"
  case "$name" in
    direct)
      write_nginx_origin "$dir" "${PORT[direct]}" "$MAXCONN"
      start_nginx direct "$CPU_PROXY" "$dir"
      ;;
    nginx)
      write_nginx_proxy "$dir" "${PORT[nginx]}" "$ORIGIN_PORT" "$MAXCONN"
      start_nginx nginx "$CPU_PROXY" "$dir"
      ;;
    haproxy)
      write_haproxy_http "$dir" "${PORT[haproxy]}" "$ORIGIN_PORT" "$MAXCONN"
      start_haproxy haproxy "$CPU_PROXY" "$dir"
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
      start_proxy proxy "$dir" "$ADMIN_PORT"
      ;;
  esac
  ready "$name" "${PORT[$name]}" "$dir"
  "$PY" "$LIB" wait-http "http://127.0.0.1:${PORT[$name]}/" 100 20 ||
    { tail -20 "$dir/log" >&2; fail "GET / through $name is not 200 with 100 bytes"; }
}

machine_before
say "targets: ${TLIST[*]}; $NCONN connections; proxy: ${PROXY_BIN:-none} $PROXY_ARGS; pinning: $(pin_desc); open files: $(ulimit -Sn)"
write_nginx_origin "$TMP/origin" "$ORIGIN_PORT" 8192
start_nginx origin "$CPU_LOAD" "$TMP/origin"
"$PY" "$LIB" wait-http "http://127.0.0.1:$ORIGIN_PORT/" 100 10 || fail "nginx origin not ready"

for r in $(seq "$ROUNDS"); do
  for t in $(order_for "$r"); do
    dir=$TMP/r$r/$t
    start_target "$t" "$dir"
    fg "${LOAD[@]}" "$PY" "$LIB" idle --jsonl "$JSONL" --target "$t" --round "$r" \
      --port "${PORT[$t]}" --pid "${PID[$t]}" -n "$NCONN" --batch "$BATCH" --hold "$HOLD" \
      --timeout $((HOLD + 240)) || say "idle client for $t failed"
    if ! alive "$t"; then
      stop "$t"
      NOTES+=("r$r: $t was no longer running after the connections closed (exit status $STOP_RC; see its log)")
    else
      stop "$t"
      [ "$t" = proxy ] && NOTES+=("r$r: proxy SIGTERM -> exit status $STOP_RC after $STOP_SECS s")
    fi
    if [ -n "$OUT" ]; then
      mkdir -p "$OUT/r$r/$t"
      find "$dir" -maxdepth 1 -type f ! -name 1m -exec cp {} "$OUT/r$r/$t/" \; 2>/dev/null || true
    fi
  done
done
stop origin

write_meta "$TMP/meta.txt" \
  "rounds $ROUNDS, $NCONN connections (one GET each, $BATCH opening at once), held ${HOLD}s, fresh process per round, pinning $(pin_desc), open files $(ulimit -Sn)" \
  "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'); haproxy $(haproxy -v 2>/dev/null | head -1 | awk '{print $3}'); $("$PY" --version)"
report "Idle keep-alive connections" "$TMP/meta.txt" "$JSONL" "$TARGETS" nginx
[ -n "$OUT" ] && say "results in $OUT (summary.md, runs.jsonl, meta.txt, configs and logs)"
exit 0
