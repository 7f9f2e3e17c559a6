#!/usr/bin/env bash
# Starts (or stops) a local 3-master Redis Cluster from redis-server binaries on
# loopback ports, for the store's integration suite.
#   scripts/redis-cluster.sh start DIR   -> prints the comma-separated seed addresses
#   scripts/redis-cluster.sh stop DIR
set -euo pipefail
cmd=${1:?start|stop} dir=${2:?folder}
base=${CLUSTER_BASE_PORT:-}
case "$cmd" in
start)
  mkdir -p "$dir"
  if [ -z "$base" ]; then
    # three consecutive free ports (and their +10000 cluster-bus ports)
    for try in $(seq 200); do
      cand=$(( 20000 + (RANDOM % 9000) ))
      ok=1
      for p in $cand $((cand+1)) $((cand+2)) $((cand+10000)) $((cand+10001)) $((cand+10002)); do
        if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then ok=0; break; fi
      done
      [ $ok = 1 ] && { base=$cand; break; }
    done
  fi
  addrs=()
  for i in 0 1 2; do
    p=$((base+i))
    mkdir -p "$dir/$p"
    redis-server --bind 127.0.0.1 --port "$p" --cluster-enabled yes --cluster-config-file "$dir/$p/nodes.conf" \
      --cluster-node-timeout 2000 --save '' --appendonly no --dir "$dir/$p" --daemonize yes \
      --pidfile "$dir/$p/redis.pid" --logfile "$dir/$p/redis.log" >/dev/null
    addrs+=("127.0.0.1:$p")
  done
  for a in "${addrs[@]}"; do
    for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "${a##*:}" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1
  for _ in $(seq 100); do
    state=$(redis-cli -p "$base" cluster info | tr -d '\r' | awk -F: '/cluster_state/{print $2}')
    [ "$state" = ok ] && break
    sleep 0.1
  done
  [ "$state" = ok ] || { echo "cluster did not reach state ok" >&2; cat "$dir/create.log" >&2; exit 1; }
  (IFS=,; echo "${addrs[*]}")
  ;;
stop)
  for pid in "$dir"/*/redis.pid; do [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true; done
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
