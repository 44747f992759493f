#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
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
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=3
DURATION=5
STREAMS=1,8
CR_CONNS=32
CR_DURATION=""
TARGETS=direct,haproxy,haproxy-splice,proxy
PARTS=tput,connrate
BASE_PORT=24100

usage() {
  cat <<EOF
usage: $0 [options]

TCP benchmark: throughput (iperf3, 1 and 8 streams) and connections/s (wrk with
'Connection: close') for direct / HAProxy (mode tcp, 1 thread) / this proxy.

  -r, --rounds N      rounds; target order alternates each round (default $ROUNDS)
  -d, --duration S    seconds per iperf3 run (default $DURATION)
  --streams LIST      iperf3 -P values (default $STREAMS)
  --cr-conns N        wrk connections in flight for the connection rate (default $CR_CONNS)
  --cr-duration S     seconds per wrk run (default: --duration)
  --targets LIST      any of direct,haproxy,haproxy-splice,proxy (default $TARGETS)
  --parts LIST        tput,connrate (default $PARTS)
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
    --streams) STREAMS=$2; shift 2 ;;
    --cr-conns) CR_CONNS=$2; shift 2 ;;
    --cr-duration) CR_DURATION=$2; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    --parts) PARTS=$2; shift 2 ;;
    --base-port) BASE_PORT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; echo "unknown option: $1" >&2; exit 2 ;;
  esac
done
: "${CR_DURATION:=$DURATION}"

need_ints "$ROUNDS" "$DURATION" "$CR_DURATION" "$CR_CONNS" "$BASE_PORT"
need_list target "$TARGETS" direct haproxy haproxy-splice proxy
need_list part "$PARTS" tput connrate
IFS=, read -r -a SLIST <<<"$STREAMS"
need_ints "${SLIST[@]}"
IFS=, read -r -a TLIST <<<"$TARGETS"
if has "$TARGETS" proxy; then check_proxy_bin; fi
check_pinning

pkgs=(iperf3 util-linux)
has "$PARTS" connrate && pkgs+=(nginx wrk)
{ has "$TARGETS" haproxy || has "$TARGETS" haproxy-splice; } && pkgs+=(haproxy)
ensure_packages "${pkgs[@]}"
need_cmds iperf3 taskset
if has "$PARTS" connrate; then need_cmds nginx wrk; fi

make_tmp tcpbench
raise_nofile 0
pick_ports "$BASE_PORT" 6
TARGET_PORT=${P[0]}
declare -A PORT=([direct]=${P[0]} [haproxy]=${P[1]} [haproxy-splice]=${P[2]} [proxy]=${P[3]})
ADMIN_PORT=${P[4]}
JSONL="$TMP/runs.jsonl"
: >"$JSONL"

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
      start_haproxy "$name" "$CPU_PROXY" "$dir"
      ;;
    proxy)
      cat >"$dir/config.yml" <<EOF
tcp:
  target: "127.0.0.1:$up"
  port: ":${PORT[proxy]}"
log_level: "log"
EOF
      start_proxy proxy "$dir" "$ADMIN_PORT"
      ;;
  esac
  ready "$name" "${PORT[$name]}" "$dir"
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
  rm -rf "$OUT/$1/origin/html"   # the origin's 1 MiB file
}

machine_before
say "targets: ${TLIST[*]}; proxy: ${PROXY_BIN:-none} $PROXY_ARGS; pinning: $(pin_desc)"

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
  write_nginx_origin "$D/origin" "$TARGET_PORT" 8192
  start_nginx origin "$CPU_LOAD" "$D/origin"
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
write_meta "$TMP/meta.txt" \
  "rounds $ROUNDS, iperf3 ${DURATION}s with -P $STREAMS, wrk -t1 -c$CR_CONNS ${CR_DURATION}s, pinning $(pin_desc)" \
  "haproxy $(haproxy -v 2>/dev/null | head -1 | awk '{print $3}'); $(iperf3 --version 2>/dev/null | head -1 | awk '{print $1, $2}'); nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'); $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')"
# the issue compares with HAProxy using splice(2); without it in --targets, plain HAProxy
REF=haproxy
has "$TARGETS" haproxy-splice && REF=haproxy-splice
report "TCP benchmark" "$TMP/meta.txt" "$JSONL" "$TARGETS" "$REF"
[ -n "$OUT" ] && say "results in $OUT (summary.md, runs.jsonl, configs and logs per part)"
exit 0
