#!/usr/bin/env bash
# HTTP throughput with wrk as the load generator (it is not the bottleneck: one wrk thread drives
# bare Jetty to ~50k requests/s here, see ../shared/STACK.md), alternating rounds between setups
# in one run:
#   bare      Jetty 12 + the mock model, no FairShare (the baseline)
#   current   the gateway built from this checkout (memory store)
#   other     optionally, a second gateway JAR (e.g. built from the previous commit), same settings
#
#   mvn -B -q -pl it-tests -am -DskipTests install
#   it-tests/bench/wrk-overhead.sh [other-gateway.jar] [rounds] [seconds-per-round]
#
# Prints one line per round and setup, then per setup: total requests/s, its ratio to bare, the
# median of the per-round ratios (each round against the bare round just before it), and wrk's
# latency percentiles of the last round.
set -euo pipefail
cd "$(dirname "$0")/../.."
OTHER_JAR="${1:-}"
ROUNDS="${2:-5}"
SECONDS_PER_ROUND="${3:-5}"
CONNECTIONS="${CONNECTIONS:-32}"
KEYS=64
WORK="$(mktemp -d)"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
CURRENT_JAR=gateway/target/fairshare-gateway.jar
[ -f "$CURRENT_JAR" ] || { echo "build first: mvn -B -q -pl it-tests -am -DskipTests install" >&2; exit 1; }

mvn -B -q -o -pl it-tests dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$WORK/cp.txt" >/dev/null
CP="$(cat "$WORK/cp.txt"):it-tests/target/test-classes"
java -cp "$CP" dev.fairshare.bench.BareJetty 4101 > "$WORK/bare.log" 2>&1 &
PIDS+=($!)

start_gateway() { # name jar port
  local name=$1 jar=$2 port=$3
  FAIRSHARE_MASTER_KEY=sk-bench java \
    -Dfairshare.keys.jdbc-url="jdbc:h2:file:$WORK/$name-keys" \
    -Dfairshare.gateway.port="$port" -Dfairshare.gateway.host=127.0.0.1 \
    -Dfairshare.models.bench-model.tpm=1000000000 -Dfairshare.models.bench-model.rpm=100000000 \
    -jar "$jar" > "$WORK/$name.log" 2>&1 &
  PIDS+=($!)
}
start_gateway current "$CURRENT_JAR" 4102
SETUPS=(bare:4101 current:4102)
if [ -n "$OTHER_JAR" ]; then
  start_gateway other "$OTHER_JAR" 4103
  SETUPS+=(other:4103)
fi

for setup in "${SETUPS[@]}"; do
  port=${setup#*:}
  up=no
  for _ in $(seq 1 60); do curl -s -o /dev/null "http://127.0.0.1:$port/" && up=yes && break; sleep 0.5; done
  [ $up = yes ] || { echo "${setup%%:*} did not start:" >&2; cat "$WORK/${setup%%:*}.log" >&2; exit 1; }
done
for setup in "${SETUPS[@]}"; do
  name=${setup%%:*} port=${setup#*:}
  : > "$WORK/$name.keys"
  if [ "$name" != bare ]; then
    for _ in $(seq 1 $KEYS); do
      curl -s -X POST "http://127.0.0.1:$port/key/generate" -H 'Authorization: Bearer sk-bench' -d '{}' \
        | sed -E 's/.*"key":"([^"]+)".*/\1/' >> "$WORK/$name.keys"
      echo >> "$WORK/$name.keys"
    done
  else
    # Bare Jetty gets keys of the same shape, unknown to it: the same request headers to parse
    # (Jetty caches a header that repeats on a connection; one key would flatter the baseline).
    for _ in $(seq 1 $KEYS); do
      echo "sk-$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | head -c 22)" >> "$WORK/$name.keys"
    done
  fi
done

run() { # name port seconds -> requests/s
  local name=$1 port=$2 secs=$3
  KEYS_FILE="$WORK/$name.keys" wrk -t1 -c"$CONNECTIONS" -d"${secs}s" --latency \
    -s it-tests/bench/keys.lua "http://127.0.0.1:$port" > "$WORK/$name.out"
  if grep -q 'Non-2xx' "$WORK/$name.out"; then
    # A refused request costs the server less than an answered one: such a round measures nothing.
    echo "$name: $(grep 'Non-2xx' "$WORK/$name.out"): the figures would not be comparable" >&2
    exit 1
  fi
  awk '/Requests\/sec/ {print $2}' "$WORK/$name.out"
}

for setup in "${SETUPS[@]}"; do run "${setup%%:*}" "${setup#*:}" "${WARMUP:-15}" > /dev/null; done # warm-up (JIT)
declare -A TOTAL RATIOS
for round in $(seq 1 "$ROUNDS"); do
  bare_rps=""
  for setup in "${SETUPS[@]}"; do
    name=${setup%%:*} port=${setup#*:}
    rps=$(run "$name" "$port" "$SECONDS_PER_ROUND")
    [ "$name" = bare ] && bare_rps=$rps
    TOTAL[$name]=$(echo "${TOTAL[$name]:-0} + $rps" | bc -l)
    RATIOS[$name]="${RATIOS[$name]:-} $(echo "$rps / $bare_rps" | bc -l)"
    printf 'round %d  %-8s %10.0f requests/s\n' "$round" "$name" "$rps"
    cp "$WORK/$name.out" "$WORK/$name.last"
  done
done

echo
echo "| setup | requests/s | ratio to bare | median of the rounds' ratios | p50 | p99 |"
echo "|---|---|---|---|---|---|"
for setup in "${SETUPS[@]}"; do
  name=${setup%%:*}
  mean=$(echo "${TOTAL[$name]} / $ROUNDS" | bc -l)
  ratio=$(echo "${TOTAL[$name]} / ${TOTAL[bare]}" | bc -l)
  median=$(echo "${RATIOS[$name]}" | tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
  p50=$(awk '$1=="50%" {print $2}' "$WORK/$name.last")
  p99=$(awk '$1=="99%" {print $2}' "$WORK/$name.last")
  printf '| %s | %.0f | %.3f | %.3f | %s | %s |\n' "$name" "$mean" "$ratio" "$median" "$p50" "$p99"
done
