#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tools/bench/http.sh - HTTP/1.1 reverse-proxy benchmark of this proxy beside nginx and
# HAProxy (one worker each, upstream keep-alive) and a direct connection, on loopback.
# See tools/bench/README.md.
#
#   origin:     nginx, 1 worker: GET / -> 200 with a 100-byte body, GET /1m -> 1 MiB
#               static file; keep-alive, no logs, stub_status for connection counts.
#   scenarios:  small (GET /) and large (GET /1m), wrk -t1 -c64 --latency, keep-alive;
#               close (GET / with 'Connection: close': a new client connection per
#               request); req/s, p50/p99, proxy CPU us per request (per MiB for large),
#               proxy RSS after the run.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=3
DURATION=10
CONNS=64
WARMUP=2
SCENARIOS=small,large,close
TARGETS=direct,nginx,haproxy,proxy
BASE_PORT=24200

usage() {
  cat <<EOF
usage: $0 [options]

HTTP benchmark: wrk through nginx / HAProxy (one worker each, upstream keep-alive) /
this proxy, and direct to the origin; 100 B and 1 MiB bodies over keep-alive, and 100 B
with a new connection per request.

  -r, --rounds N      rounds; target order alternates each round (default $ROUNDS)
  -d, --duration S    seconds per wrk run (default $DURATION)
  -c, --conns N       wrk connections (default $CONNS)
  --warmup S          seconds of wrk warm-up per target and scenario (default $WARMUP)
  --scenarios LIST    small (GET /, 100 B), large (GET /1m, 1 MiB), close (GET / with
                      'Connection: close') (default $SCENARIOS)
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
    -r|--rounds) ROUNDS=$2; shift 2 ;;
    -d|--duration) DURATION=$2; shift 2 ;;
    -c|--conns) CONNS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --scenarios) SCENARIOS=$2; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    --base-port) BASE_PORT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

need_ints "$ROUNDS" "$DURATION" "$CONNS" "$WARMUP" "$BASE_PORT"
need_list target "$TARGETS" direct nginx haproxy proxy
need_list scenario "$SCENARIOS" small large close
IFS=, read -r -a TLIST <<<"$TARGETS"
IFS=, read -r -a SLIST <<<"$SCENARIOS"
if has "$TARGETS" proxy; then check_proxy_bin; fi
check_pinning

pkgs=(nginx wrk curl util-linux)
has "$TARGETS" haproxy && pkgs+=(haproxy)
ensure_packages "${pkgs[@]}"
need_cmds nginx wrk curl taskset
if has "$TARGETS" haproxy; then need_cmds haproxy; fi

make_tmp httpbench
raise_nofile 0
pick_ports "$BASE_PORT" 5
ORIGIN_PORT=${P[0]}
declare -A PORT=([direct]=${P[0]} [nginx]=${P[1]} [haproxy]=${P[2]} [proxy]=${P[3]})
ADMIN_PORT=${P[4]}
JSONL="$TMP/runs.jsonl"
: >"$JSONL"
declare -A SPATH=([small]=/ [large]=/1m [close]=/)
declare -A SLEN=([small]=100 [large]=1048576 [close]=100)
declare -A SHDR=([small]="" [large]="" [close]="Connection: close")

start_origin() {
  write_nginx_origin "$TMP/origin" "$ORIGIN_PORT" 8192
  start_nginx origin "$CPU_LOAD" "$TMP/origin"
  "$PY" "$LIB" wait-http "http://127.0.0.1:$ORIGIN_PORT/" 100 10 || fail "nginx origin not ready"
}

# start_target NAME : one HTTP reverse proxy listening on PORT[NAME], upstream = origin
start_target() {
  local name=$1 dir=$TMP/$1
  mkdir -p "$dir"
  case "$name" in
    nginx)
      write_nginx_proxy "$dir" "${PORT[nginx]}" "$ORIGIN_PORT" 8192
      start_nginx nginx "$CPU_PROXY" "$dir"
      ;;
    haproxy)
      write_haproxy_http "$dir" "${PORT[haproxy]}" "$ORIGIN_PORT" 20000
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
}

# check TARGET SCENARIO: curl must get 200 with the right body size (and, for close, the
# connection closed by the answer: "Connection: close" back, so no reuse is possible)
check() {
  local t=$1 s=$2 url got hdr=() want
  url="http://127.0.0.1:${PORT[$t]}${SPATH[$s]}"
  [ -n "${SHDR[$s]}" ] && hdr=(-H "${SHDR[$s]}")
  got=$(curl -s -o /dev/null -D "$TMP/check.h" --max-time 10 "${hdr[@]}" \
    -w '%{http_code} %{size_download}' "$url" || true)
  want="200 ${SLEN[$s]}"
  if [ "$got" != "$want" ]; then
    curl -s -i --max-time 5 "${hdr[@]}" "$url" 2>&1 | head -c 600 >&2 || true
    tail -20 "$TMP/$t/log" >&2 2>/dev/null || true
    fail "GET $url ${SHDR[$s]:+(${SHDR[$s]}) }through $t: got '$got', want '$want'"
  fi
  if [ "$s" = close ] && ! grep -qi '^connection: *close' "$TMP/check.h"; then
    NOTES+=("close: $t did not answer 'Connection: close' to a request that asked for it")
  fi
}

machine_before
say "targets: ${TLIST[*]}; proxy: ${PROXY_BIN:-none} $PROXY_ARGS; pinning: $(pin_desc)"

start_origin
for t in "${TLIST[@]}"; do [ "$t" = direct ] || start_target "$t"; done
for s in "${SLIST[@]}"; do
  for t in "${TLIST[@]}"; do check "$t" "$s"; done
done
say "functional check ok: every target answers 200 with the right body size"

for s in "${SLIST[@]}"; do
  url_path=${SPATH[$s]}
  hdr=()
  [ -n "${SHDR[$s]}" ] && hdr=(-H "${SHDR[$s]}")
  unit=req
  [ "$s" = close ] && unit=conn
  for t in "${TLIST[@]}"; do  # warm-up
    fg timeout $((WARMUP + 20)) "${LOAD[@]}" wrk -t1 -c"$CONNS" -d"${WARMUP}s" --timeout 5s \
      "${hdr[@]}" "http://127.0.0.1:${PORT[$t]}$url_path" >"$TMP/warmup-$s-$t.log" 2>&1 ||
      say "warm-up through $t failed (see $TMP/warmup-$s-$t.log)"
  done
  say "scenario $s: wrk -t1 -c$CONNS -d$DURATION --latency GET $url_path${SHDR[$s]:+ (${SHDR[$s]})}, $ROUNDS rounds"
  for r in $(seq "$ROUNDS"); do
    for t in $(order_for "$r"); do
      pid=0
      if [ "$t" != direct ]; then
        alive "$t" || { say "$t is not running; skipping"; continue; }
        pid=${PID[$t]}
      fi
      fg "$PY" "$LIB" run --jsonl "$JSONL" --kind wrk --unit "$unit" --group "http-$s" --target "$t" \
        --round "$r" --pid "$pid" "${RUNPIN[@]}" --body-bytes "${SLEN[$s]}" \
        --origin-status "http://127.0.0.1:$ORIGIN_PORT/stub_status" \
        --timeout $((DURATION + 30)) -- \
        "${LOAD[@]}" wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency "${hdr[@]}" \
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

write_meta "$TMP/meta.txt" \
  "rounds $ROUNDS, wrk -t1 -c$CONNS ${DURATION}s --latency (warm-up ${WARMUP}s), scenarios $SCENARIOS, pinning $(pin_desc)" \
  "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'); haproxy $(haproxy -v 2>/dev/null | head -1 | awk '{print $3}'); $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
report "HTTP benchmark" "$TMP/meta.txt" "$JSONL" "$TARGETS" nginx
[ -n "$OUT" ] && say "results in $OUT (summary.md, runs.jsonl, meta.txt, configs and logs)"
exit 0
