#!/usr/bin/env bash
# Runs PROCESSES `products` processes on one database behind nginx, in the foreground;
# Ctrl-C (or SIGTERM) stops them all.
#
#   DATABASE_URL=postgres://USER:PASS@HOST:5432/DB deploy/run.sh            # balancer.conf
#   DATABASE_URL=postgres://USER:PASS@HOST:5432/DB deploy/run.sh cache      # cache.conf
#
# Settings (environment): DATABASE_URL (required: every process must share it, so a
# PostgreSQL database or a SQLite file, never sqlite::memory:), PROCESSES (3), PORT
# (nginx's port, 8080), FIRST_PORT (the first process's port, 3001; the others follow),
# PRODUCTS (the binary; built with cargo when not given), RUN_DIR (nginx's prefix: its
# logs and cache; a new temporary directory when not given). Every other setting of the
# processes (DB_POOL_SIZE, DB_ACQUIRE_TIMEOUT, ...) is passed on through the environment.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
variant="${1:-balancer}"
case "$variant" in
  balancer | cache) ;;
  *) echo "usage: $0 [balancer|cache]" >&2; exit 2 ;;
esac
: "${DATABASE_URL:?set DATABASE_URL to the database every process shares}"
case "$DATABASE_URL" in
  *:memory:* | *mode=memory*) echo "an in-memory database cannot be shared" >&2; exit 2 ;;
esac
processes="${PROCESSES:-3}"
port="${PORT:-8080}"
first_port="${FIRST_PORT:-3001}"
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$nginx_bin" ] || { echo "nginx is not installed (apt-get install nginx)" >&2; exit 1; }

if [ -z "${PRODUCTS:-}" ]; then
  cargo build --release -q -p etag-examples --bin products --manifest-path "$here/../Cargo.toml"
  PRODUCTS="$here/../target/release/products"
fi

run_dir="${RUN_DIR:-$(mktemp -d)}"
mkdir -p "$run_dir/logs"
# nginx's workers drop root: they must be able to reach the cache under the prefix.
chmod 755 "$run_dir"
sed "s/listen 127.0.0.1:8080;/listen 127.0.0.1:$port;/" "$here/nginx/$variant.conf" >"$run_dir/nginx.conf"
: >"$run_dir/upstreams.conf"

pids=()
stop() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop EXIT
trap 'exit 0' INT TERM

for i in $(seq 0 $((processes - 1))); do
  addr="127.0.0.1:$((first_port + i))"
  "$PRODUCTS" --listen "$addr" --database "$DATABASE_URL" >"$run_dir/logs/products-$i.out" &
  pids+=("$!")
  echo "server $addr;" >>"$run_dir/upstreams.conf"
  # The first process creates the schema; wait until it listens before starting the
  # others (they would wait for its migration lock anyway).
  for _ in $(seq 1 600); do
    grep -q '^listening on' "$run_dir/logs/products-$i.out" 2>/dev/null && break
    kill -0 "$!" 2>/dev/null || { echo "process $i exited; see its log above" >&2; exit 1; }
    sleep 0.1
  done
  grep -q '^listening on' "$run_dir/logs/products-$i.out" || { echo "process $i did not start" >&2; exit 1; }
done

"$nginx_bin" -p "$run_dir/" -c "$run_dir/nginx.conf" -e stderr -g 'daemon off;' &
pids+=("$!")
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
echo "ready on http://127.0.0.1:$port ($processes processes, $variant; nginx files in $run_dir)"
wait -n "${pids[@]}"
echo "a process exited; stopping the others" >&2
exit 1
