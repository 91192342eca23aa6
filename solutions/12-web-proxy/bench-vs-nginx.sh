#!/usr/bin/env bash
# The reference proxy against nginx, both as a reverse proxy in front of the
# same upstream, driven by the same load generator.
#
#   bash solutions/12-web-proxy/bench-vs-nginx.sh [RUNS] [SECONDS]
#
# Needs nginx and wrk (Debian: apt-get install -y nginx wrk). Builds the
# proxy and the upstream (solution-12's bench-upstream) in release mode,
# writes its own nginx.conf into a temporary directory (nginx's default
# worker settings: worker_processes auto), then runs
#   wrk -t2 -c50 -d${SECONDS}s --latency
# RUNS times against each proxy, alternating, after a 2 s warm-up each, and
# prints min, median and max of requests per second and of the 99th
# percentile latency. Both proxies write an access log line per request and
# open a new upstream connection per request (nginx's default too: HTTP/1.0
# to the upstream, no keepalive). Everything listens on 127.0.0.1.
set -euo pipefail

RUNS=${1:-5}
SECS=${2:-5}
CONNS=${CONNS:-50}
# PACKAGE=exercise-12 measures your own proxy instead of the solution's.
PACKAGE=${PACKAGE:-solution-12}
cd "$(dirname "$0")/../.."
CARGO=${CARGO:-cargo}
command -v nginx >/dev/null || { echo "needs nginx (apt-get install -y nginx)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "needs wrk (apt-get install -y wrk)" >&2; exit 2; }

WORK=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

build() {
    "$CARGO" build -q --release -p "$PKG" --features cli --bin "$1" --message-format=json |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1
}
cp "$(PKG="$PACKAGE" build web-proxy)" "$WORK/web-proxy"
cp "$(PKG=solution-12 build bench-upstream)" "$WORK/bench-upstream"

port_of() { # LOG: waits for "listening on 127.0.0.1:PORT" and prints PORT
    for _ in $(seq 100); do
        p=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$1" | head -n 1)
        [[ -n "$p" ]] && { echo "$p"; return; }
        sleep 0.1
    done
    echo "no port in $1" >&2; exit 1
}
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

up=$(free_port)
touch "$WORK/upstream.log" "$WORK/proxy.log"
"$WORK/bench-upstream" "127.0.0.1:$up" 2>"$WORK/upstream.log" &
pids+=($!)
port_of "$WORK/upstream.log" >/dev/null

"$WORK/web-proxy" --mode reverse --listen 127.0.0.1:0 --upstream "127.0.0.1:$up" \
    --health-path / 2>"$WORK/proxy.log" &
pids+=($!)
ours=$(port_of "$WORK/proxy.log")

theirs=$(free_port)
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
user root;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log $WORK/nginx/access.log;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    upstream backend { server 127.0.0.1:$up; }
    server {
        listen 127.0.0.1:$theirs;
        location / {
            proxy_pass http://backend;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
CONF
nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" &
pids+=($!)
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$theirs/" && break
    sleep 0.1
done

for name in ours theirs; do
    port=${!name}
    body=$(curl -sS "http://127.0.0.1:$port/")
    [[ "$body" == "hello from the upstream" ]] || { echo "$name: unexpected answer: $body" >&2; exit 1; }
    wrk -t2 -c"$CONNS" -d2s "http://127.0.0.1:$port/" >/dev/null
done

# p99 in microseconds from wrk's "99%" line ("1.23ms", "850.00us", "1.02s").
p99_us() {
    awk '$1=="99%" { v=$2; u=v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
        m = (u=="us") ? 1 : (u=="ms") ? 1000 : (u=="s") ? 1000000 : 0; printf "%d\n", v*m }'
}
rps() { awk '/^Requests\/sec:/ { printf "%d\n", $2 }'; }

declare -A RPS P99
for run in $(seq "$RUNS"); do
    for name in ours theirs; do
        port=${!name}
        out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:$port/")
        if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
            echo "$name run $run: $(grep -E 'Non-2xx|Socket errors' <<<"$out")" >&2
        fi
        r=$(rps <<<"$out"); p=$(p99_us <<<"$out")
        RPS[$name]+="$r "; P99[$name]+="$p "
        echo "run $run $name: $r req/s, p99 $p us" >&2
    done
done

stats() { # prints min median max of its arguments
    printf '%s\n' "$@" | sort -n | awk '{ a[NR]=$1 } END { print a[1], a[int((NR+1)/2)], a[NR] }'
}
echo
echo "wrk -t2 -c$CONNS -d${SECS}s --latency, $RUNS runs each (min / median / max)"
printf '%-22s %-28s %-28s\n' "proxy" "requests/s" "p99 latency (us)"
read -r omin omed omax <<<"$(stats ${RPS[ours]})"
read -r pmin pmed pmax <<<"$(stats ${P99[ours]})"
printf '%-22s %-28s %-28s\n' "web-proxy (this)" "$omin / $omed / $omax" "$pmin / $pmed / $pmax"
read -r nmin nmed nmax <<<"$(stats ${RPS[theirs]})"
read -r qmin qmed qmax <<<"$(stats ${P99[theirs]})"
printf '%-22s %-28s %-28s\n' "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///')" "$nmin / $nmed / $nmax" "$qmin / $qmed / $qmax"
awk -v a="$omed" -v b="$nmed" 'BEGIN { printf "median throughput ratio web-proxy / nginx: %.2f\n", a/b }'
