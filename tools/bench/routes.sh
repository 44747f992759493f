#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# tools/bench/routes.sh - config scale: the proxy's CPU per 100 B keep-alive request with a
# small route table (10 routes) against a large one (10,000), in the canonical config form.
# The request only matches the LAST route, so first-match lookups are exercised.  Both
# proxies run at once (one worker each, on the proxy core) and are measured in
# alternating rounds; the report gives the per-round ratio of CPU/request (target <= 1.05).
# See tools/bench/README.md.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=3
DURATION=10
CONNS=64
WARMUP=2
KINDS=host,prefix,mixed
ROUTES=10,10000
LIMIT=1.05
BASE_PORT=24300

usage() {
  cat <<EOF
usage: $0 [options]

Config scale: CPU per 100 B keep-alive request through this proxy with few routes and with
many, the request matching the last route.  Kinds of route table (--kinds):
  host    host_router: N virtual hosts site<i>.bench.test (+ *.site<i>.bench.test);
          the request's Host is the last one
  prefix  path_prefix_router: N rules (host api.bench.test, prefix /api/v1/svc<i>/,
          stripped); the request is GET /api/v1/svc<N-1>/
  mixed   host_router with N/2 virtual hosts the request does not name, then
          path_prefix_router with N/2 rules, the last of which matches

  -r, --rounds N      rounds; the order alternates each round (default $ROUNDS)
  -d, --duration S    seconds per wrk run (default $DURATION)
  -c, --conns N       wrk connections (default $CONNS)
  --warmup S          seconds of wrk warm-up per config (default $WARMUP)
  --kinds LIST        host,prefix,mixed (default $KINDS)
  --routes A,B        the small and the large route count (default $ROUTES)
  --limit X           the largest CPU/request ratio large/small that passes (default $LIMIT)
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
    --kinds) KINDS=$2; shift 2 ;;
    --routes) ROUTES=$2; shift 2 ;;
    --limit) LIMIT=$2; shift 2 ;;
    --base-port) BASE_PORT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; echo "unknown option: $1" >&2; exit 2 ;;
  esac
done

need_ints "$ROUNDS" "$DURATION" "$CONNS" "$WARMUP" "$BASE_PORT"
need_list kind "$KINDS" host prefix mixed
IFS=, read -r -a KLIST <<<"$KINDS"
IFS=, read -r -a RLIST <<<"$ROUTES"
[ ${#RLIST[@]} = 2 ] || fail "--routes wants two counts, e.g. 10,10000"
need_ints "${RLIST[@]}"
[ "${RLIST[0]}" -ge 2 ] || fail "--routes: at least 2 routes (mixed splits them in two)"
[[ "$LIMIT" =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "--limit: not a number: $LIMIT"
# the two configs are the targets; the first (small) one is the reference
TLIST=("routes${RLIST[0]}" "routes${RLIST[1]}")
[ "${TLIST[0]}" != "${TLIST[1]}" ] || fail "--routes: the two counts must differ"
TARGETS="${TLIST[0]},${TLIST[1]}"
check_proxy_bin
check_pinning

ensure_packages nginx wrk curl util-linux
need_cmds nginx wrk curl taskset

make_tmp routesbench
raise_nofile 0
pick_ports "$BASE_PORT" 5
ORIGIN_PORT=${P[0]}
declare -A PORT=([${TLIST[0]}]=${P[1]} [${TLIST[1]}]=${P[2]})
declare -A ADMIN=([${TLIST[0]}]=${P[3]} [${TLIST[1]}]=${P[4]})
declare -A COUNT=([${TLIST[0]}]=${RLIST[0]} [${TLIST[1]}]=${RLIST[1]})
JSONL="$TMP/runs.jsonl"
: >"$JSONL"

# curl_check PORT HOST PATH WANT: GET must answer WANT ("200 100" or "404")
curl_check() {
  local port=$1 host=$2 path=$3 want=$4 got
  got=$(curl -s -o /dev/null --max-time 10 -H "Host: $host" -w '%{http_code} %{size_download}' \
    "http://127.0.0.1:$port$path" || true)
  [ "$want" = 404 ] && got=${got%% *}
  [ "$got" = "$want" ]
}

machine_before
say "proxy: $PROXY_BIN $PROXY_ARGS; kinds ${KLIST[*]}; routes ${RLIST[*]}; pinning: $(pin_desc)"
write_nginx_origin "$TMP/origin" "$ORIGIN_PORT" 8192
start_nginx origin "$CPU_LOAD" "$TMP/origin"
"$PY" "$LIB" wait-http "http://127.0.0.1:$ORIGIN_PORT/" 100 10 || fail "nginx origin not ready"

for k in "${KLIST[@]}"; do
  declare -A REQ=()
  for t in "${TLIST[@]}"; do
    dir=$TMP/$k/$t
    mkdir -p "$dir"
    REQ[$t]=$("$PY" "$LIB" routes-config --kind "$k" --n "${COUNT[$t]}" --port "${PORT[$t]}" \
      --origin-port "$ORIGIN_PORT" --file "$dir/config.yml")
    timeout 60 "$PROXY_BIN" --validate -c "$dir/config.yml" >"$dir/validate.log" 2>&1 ||
      { cat "$dir/validate.log" >&2; fail "the generated $k config with ${COUNT[$t]} routes does not validate"; }
    start_proxy "$t" "$dir" "${ADMIN[$t]}"
    ready "$t" "${PORT[$t]}" "$dir" 60
  done
  for t in "${TLIST[@]}"; do  # functional check: the last route answers, a miss gets 404
    read -r host path <<<"${REQ[$t]}"
    curl_check "${PORT[$t]}" "$host" "$path" "200 100" ||
      { tail -20 "$TMP/$k/$t/log" >&2; fail "$k/$t: GET $path (Host: $host) is not 200 with 100 bytes"; }
    curl_check "${PORT[$t]}" "nomatch.bench.test" "/api/v1/svc/" 404 ||
      fail "$k/$t: a request no route takes is not answered 404"
  done
  say "kind $k: ${TLIST[0]} GET ${REQ[${TLIST[0]}]#* } and ${TLIST[1]} GET ${REQ[${TLIST[1]}]#* }, $ROUNDS rounds"
  for t in "${TLIST[@]}"; do
    read -r host path <<<"${REQ[$t]}"
    fg timeout $((WARMUP + 20)) "${LOAD[@]}" wrk -t1 -c"$CONNS" -d"${WARMUP}s" --timeout 5s \
      -H "Host: $host" "http://127.0.0.1:${PORT[$t]}$path" >"$TMP/$k/warmup-$t.log" 2>&1 ||
      say "warm-up through $t failed"
  done
  for r in $(seq "$ROUNDS"); do
    for t in $(order_for "$r"); do
      alive "$t" || { say "$t is not running; skipping"; continue; }
      read -r host path <<<"${REQ[$t]}"
      fg "$PY" "$LIB" run --jsonl "$JSONL" --kind wrk --unit req --group "routes-$k" --target "$t" \
        --round "$r" --pid "${PID[$t]}" "${RUNPIN[@]}" \
        --origin-status "http://127.0.0.1:$ORIGIN_PORT/stub_status" --timeout $((DURATION + 30)) -- \
        "${LOAD[@]}" wrk -t1 -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency \
        -H "Host: $host" "http://127.0.0.1:${PORT[$t]}$path"
    done
  done
  for t in "${TLIST[@]}"; do
    if ! alive "$t"; then
      stop "$t"
      NOTES+=("$k: $t was no longer running at the end (exit status $STOP_RC; see its log)")
    else
      stop "$t"
      NOTES+=("$k: $t SIGTERM -> exit status $STOP_RC after $STOP_SECS s")
    fi
  done
  if [ -n "$OUT" ]; then
    mkdir -p "$OUT/$k"
    cp -r "$TMP/$k/." "$OUT/$k/" 2>/dev/null || true
  fi
  unset REQ
done
stop origin

write_meta "$TMP/meta.txt" \
  "rounds $ROUNDS, wrk -t1 -c$CONNS ${DURATION}s --latency (warm-up ${WARMUP}s), kinds $KINDS, routes $ROUTES, limit $LIMIT, pinning $(pin_desc)" \
  "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'); $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
REPORT_ARGS=(--scale-limit "$LIMIT")
report "Config scale benchmark" "$TMP/meta.txt" "$JSONL" "$TARGETS" "${TLIST[0]}"
[ -n "$OUT" ] && say "results in $OUT (summary.md, runs.jsonl, meta.txt, configs and logs)"
exit 0
