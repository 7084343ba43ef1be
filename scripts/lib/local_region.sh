# Sourced (not run) by the end-to-end tests and benchmarks that need one local region on
# loopback: `fanout pushsim` plus `fanout serve` pointed at it.
#
#   free_port                        prints a free TCP port on 127.0.0.1
#   start_local_region FANOUT CONFIG DIR [--sim-port PORT] [--set key=value ...]
#       starts pushsim (unless --sim-port names a running one) and serve (logs DIR/sim.log and
#       DIR/serve.log, data DIR/data, extra --set overrides passed on to serve), appends both pids to the caller's `pids` array
#       (pushsim first), sets sim_port, api_port and api (the base URL), and waits up to 30 s
#       for /readyz; returns 1 if serve does not become ready.

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_local_region() {
  local fanout=$1 config=$2 dir=$3
  shift 3
  if [[ ${1:-} == --sim-port ]]; then
    sim_port=$2
    shift 2
  else
    sim_port=$(free_port)
    "$fanout" pushsim --listen "127.0.0.1:$sim_port" >"$dir/sim.log" 2>&1 &
    pids+=($!)
  fi
  api_port=$(free_port)
  "$fanout" serve --config "$config" --set "http.listen=127.0.0.1:$api_port" \
    --set "push.apns.endpoint=http://127.0.0.1:$sim_port" \
    --set "push.fcm.endpoint=http://127.0.0.1:$sim_port" \
    --set "store.data_dir=$dir/data" "$@" >"$dir/serve.log" 2>&1 &
  pids+=($!)
  api="http://127.0.0.1:$api_port"
  local _
  for _ in $(seq 1 300); do
    curl -sf "$api/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
