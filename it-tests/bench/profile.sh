#!/usr/bin/env bash
# CPU profile of one server under wrk, in microseconds of CPU per request (issue 17):
#   mvn -B -q -pl it-tests -am -DskipTests install
#   it-tests/bench/profile.sh memory|redis|bare [out.collapsed]
#   python3 it-tests/bench/profile-summary.py out.collapsed 'RateLimitFilter.filter' 'UsageReader' ...
# Starts the gateway (memory store, or the Redis store on the local Redis) or bare Jetty + the mock
# on port 4102, 64 keys (bare Jetty gets 64 unknown keys of the same shape), warms it up under
# wrk (-t1 -c32) for WARM seconds (default 60: a gateway on Redis needs about 40 s here), then
# attaches async-profiler (tools.profiler:async-profiler from Maven Central, fetched when missing)
# for one 20 s wrk run and writes collapsed stacks plus the requests that run made (out.requests).
# It also prints the CPU each process spent per request in that run (server, Redis, wrk), from
# /proc; PROFILE=0 leaves the profiler out, so those figures are the servers' own.
set -euo pipefail
cd "$(dirname "$0")/../.."
SETUP="${1:?memory, redis or bare}"
OUT="$(realpath -m "${2:-target/profile-$SETUP.collapsed}")"
WARM="${WARM:-60}"
PROFILE="${PROFILE:-1}"
AP_VERSION=4.1
WORK="$(mktemp -d)"
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
AP_JAR=~/.m2/repository/tools/profiler/async-profiler/$AP_VERSION/async-profiler-$AP_VERSION.jar
[ -f "$AP_JAR" ] || mvn -B -q dependency:get -Dartifact=tools.profiler:async-profiler:$AP_VERSION >/dev/null
(cd "$WORK" && unzip -q -o "$AP_JAR" 'linux-x64/*')
LIB="$WORK/linux-x64/libasyncProfiler.so"
mkdir -p "$(dirname "$OUT")"

if [ "$SETUP" = bare ]; then
  mvn -B -q -o -pl it-tests dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$WORK/cp.txt" >/dev/null
  java -cp "$(cat "$WORK/cp.txt"):it-tests/target/test-classes" dev.fairshare.bench.BareJetty 4102 > "$WORK/server.log" 2>&1 &
else
  STORE=()
  [ "$SETUP" = redis ] && STORE=(-Dfairshare.store=redis -Dfairshare.redis.uri=redis://127.0.0.1:6379 "-Dfairshare.redis.key-prefix=fs-profile-$RANDOM")
  FAIRSHARE_MASTER_KEY=sk-bench java "${STORE[@]}" \
    -Dfairshare.keys.jdbc-url="jdbc:h2:file:$WORK/keys" -Dfairshare.gateway.port=4102 -Dfairshare.gateway.host=127.0.0.1 \
    -Dfairshare.models.bench-model.tpm=1000000000 -Dfairshare.models.bench-model.rpm=100000000 \
    -jar gateway/target/fairshare-gateway.jar > "$WORK/server.log" 2>&1 &
fi
PID=$!
for _ in $(seq 1 60); do curl -s -o /dev/null http://127.0.0.1:4102/ && break; sleep 0.5; done
: > "$WORK/keys"
for _ in $(seq 1 64); do
  if [ "$SETUP" = bare ]; then
    echo "sk-$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | head -c 22)" >> "$WORK/keys"
  else
    curl -s -X POST http://127.0.0.1:4102/key/generate -H 'Authorization: Bearer sk-bench' -d '{}' \
      | sed -E 's/.*"key":"([^"]+)".*/\1/' >> "$WORK/keys"
    echo >> "$WORK/keys"
  fi
done
run() { KEYS_FILE="$WORK/keys" wrk -t1 -c32 -d"$1" --latency -s it-tests/bench/keys.lua http://127.0.0.1:4102; }
# CPU time of a process so far, in clock ticks (user + system, all its threads)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
REDIS_PID=""
[ "$SETUP" = redis ] && REDIS_PID="$(redis-cli -p 6379 info server | awk -F: '/^process_id/ {print $2}' | tr -d '\r')"
run "${WARM}s" > /dev/null
# jcmd parses name=value pairs: the agent's options go in quotes of their own.
[ "$PROFILE" = 1 ] && jcmd "$PID" JVMTI.agent_load "$LIB" "\"start,event=cpu,interval=1ms\"" > /dev/null
SERVER0="$(ticks "$PID")"; REDIS0="${REDIS_PID:+$(ticks "$REDIS_PID")}"
[ -n "$REDIS_PID" ] && redis-cli -p 6379 info commandstats > "$WORK/cmd0"
/usr/bin/env time -f '%U %S' -o "$WORK/wrk.time" bash -c "$(declare -f run); WORK='$WORK' run 20s" > "$WORK/wrk.out"
SERVER1="$(ticks "$PID")"; REDIS1="${REDIS_PID:+$(ticks "$REDIS_PID")}"
[ -n "$REDIS_PID" ] && redis-cli -p 6379 info commandstats > "$WORK/cmd1"
[ "$PROFILE" = 1 ] && jcmd "$PID" JVMTI.agent_load "$LIB" "\"stop,file=$OUT,collapsed\"" > /dev/null
REQUESTS="$(awk '/requests in/ {print $1}' "$WORK/wrk.out")"
echo "$REQUESTS" > "${OUT%.collapsed}.requests"
grep -E "requests in|Requests/sec" "$WORK/wrk.out"
HZ="$(getconf CLK_TCK)"
awk -v n="$REQUESTS" -v hz="$HZ" -v s0="$SERVER0" -v s1="$SERVER1" -v r0="${REDIS0:-0}" -v r1="${REDIS1:-0}" \
  -v w="$(awk '{print $1 + $2}' "$WORK/wrk.time")" 'BEGIN {
    printf "CPU per request: server %.1f us, redis %.1f us, wrk %.1f us\n",
      (s1 - s0) / hz / n * 1e6, (r1 - r0) / hz / n * 1e6, w / n * 1e6 }'
if [ -n "$REDIS_PID" ]; then
  # What Redis ran in that run, per request wrk made: commands, and their time inside Redis
  python3 - "$WORK/cmd0" "$WORK/cmd1" "$REQUESTS" <<'PY'
import re, sys
def read(path):
    out = {}
    for line in open(path):
        m = re.match(r"cmdstat_(\S+):calls=(\d+),usec=(\d+)", line)
        if m:
            out[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return out
before, after, n = read(sys.argv[1]), read(sys.argv[2]), int(sys.argv[3])
for name, (calls, usec) in sorted(after.items()):
    c0, u0 = before.get(name, (0, 0))
    if calls > c0:
        print(f"redis {name}: {(calls - c0) / n:.3f} per request, {(usec - u0) / n:.1f} us per request")
PY
fi
[ "$PROFILE" = 1 ] && echo "profile: $OUT"
true
