#!/usr/bin/env bash
# scripts/demo.sh is what `make demo` runs: the local emulator of the identity platform and
# Graph, and the app wired to it, on PORT (default 5000) and EMULATOR_PORT (default 8443).
#
#   scripts/demo.sh          start both; Ctrl-C stops both (exit status 0)
#   scripts/demo.sh check    `graphauth check` against the running demo (make check-demo)
#   scripts/demo.sh ports    only check that PORT and EMULATOR_PORT are free
#
# Both programs log to files in EMU_STATE (.emulator/), so the last line on the terminal stays
# the URL to open. The emulator registers the redirect URI for the app's real port.
set -eu

bin=${BIN:-bin}
state=${EMU_STATE:-.emulator}
port=${PORT:-5000}
emu_port=${EMULATOR_PORT:-8443}
app_url="http://localhost:$port"

# readenv FILE: its KEY=VALUE lines into the array envs (paths with spaces stay whole).
readenv() {
	envs=()
	while IFS= read -r line || [ -n "$line" ]; do
		[ -n "$line" ] && envs+=("$line")
	done <"$1"
}

# in_use PORT: something answers on localhost:PORT.
in_use() { (exec 3<>"/dev/tcp/localhost/$1") 2>/dev/null; }

if [ "${1:-}" = check ]; then
	shift
	if [ ! -f "$state/demo.env" ]; then
		echo "make check-demo: no demo settings in $state/demo.env: start the demo first (make demo)" >&2
		exit 1
	fi
	emu_at=$(sed -n 's|^AUTHORITY=https://[^:/]*:\([0-9]*\)/.*|\1|p' "$state/demo.env")
	if [ -n "$emu_at" ] && ! in_use "$emu_at"; then
		echo "make check-demo: the demo is not running (nothing answers on port $emu_at): start it with make demo in another terminal" >&2
		exit 1
	fi
	readenv "$state/demo.env"
	exec env "${envs[@]}" "$bin/graphauth" -env-file "" check "$@"
fi

# check_ports: both are port numbers, different, and free. A busy port is named with the
# variable that changes it, before anything starts (make demo runs this before building, too).
check_ports() {
	for v in "PORT=$port" "EMULATOR_PORT=$emu_port"; do
		case ${v#*=} in
		'' | *[!0-9]*) echo "make demo: $v is not a port number (1-65535)" >&2; exit 1 ;;
		esac
		if [ "${v#*=}" -lt 1 ] || [ "${v#*=}" -gt 65535 ]; then
			echo "make demo: $v is not a port number (1-65535)" >&2
			exit 1
		fi
	done
	if [ "$port" = "$emu_port" ]; then
		echo "make demo: PORT and EMULATOR_PORT are both $port: give them different ports" >&2
		exit 1
	fi

	# Something answers there: the app (or the emulator) could not listen.
	if in_use "$port"; then
		echo "make demo: port $port (PORT, the app's) is in use by another program; choose another, e.g. make demo PORT=$((port == 5050 ? 5051 : 5050))" >&2
		exit 1
	fi
	if in_use "$emu_port"; then
		echo "make demo: port $emu_port (EMULATOR_PORT, the emulator's) is in use by another program; choose another, e.g. make demo EMULATOR_PORT=$((emu_port == 8444 ? 8445 : 8444))" >&2
		exit 1
	fi
}

if [ "${1:-}" = ports ]; then
	check_ports
	exit 0
fi

# Ctrl-C on a terminal reaches the whole foreground process group, make included, and make
# reports an interrupted recipe as an error. So the demo runs as a job of its own that owns the
# terminal (job control), and make only sees it end with status 0.
if [ -t 0 ] && [ -z "${GRAPHAUTH_DEMO_JOB:-}" ]; then
	set -m
	GRAPHAUTH_DEMO_JOB=1 bash "$0" "$@" &
	fg %1 >/dev/null
	exit
fi

check_ports

mkdir -p -m 700 "$state"
# The emulator registers the app's redirect URI (and its home page for after sign-out).
emu_flags=(-state-dir "$state" -addr "localhost:$emu_port" -redirect-uri "$app_url/getAToken")
"$bin/emulator" "${emu_flags[@]}" -print-env >"$state/app.env"
# Sessions are sealed with a key kept here, so demo sessions survive a restart of the demo.
if [ ! -s "$state/session.key" ]; then
	(umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$state/session.key")
fi
{
	cat "$state/app.env"
	echo "HOST=localhost"
	echo "PORT=$port"
	echo "REDIRECT_URI=$app_url/getAToken"
	echo "SESSION_TYPE=filesystem"
	echo "SESSION_DIR=$state/sessions"
	echo "SESSION_KEY_FILE=$state/session.key"
} >"$state/demo.env"
readenv "$state/demo.env"

emu='' app=''
stop() {
	trap - INT TERM EXIT
	if [ -n "$app" ]; then kill "$app" 2>/dev/null || true; wait "$app" 2>/dev/null || true; fi
	if [ -n "$emu" ]; then kill "$emu" 2>/dev/null || true; wait "$emu" 2>/dev/null || true; fi
}
trap 'stop; echo; echo "  graphauth demo: stopped"; exit 0' INT TERM
trap stop EXIT

# wait_for PID LOG TEXT NAME VAR: until LOG holds TEXT, or PID ended (its log is shown).
wait_for() {
	tries=0
	until grep -q "$3" "$2" 2>/dev/null; do
		if ! kill -0 "$1" 2>/dev/null || [ $tries -ge 300 ]; then
			echo "make demo: the $4 did not start; its log ($2):" >&2
			sed 's/^/  /' "$2" >&2
			if grep -q 'address already in use' "$2"; then
				echo "make demo: choose another port with $5, e.g. make demo $5=$(($6 + 1))" >&2
			fi
			exit 1
		fi
		tries=$((tries + 1))
		sleep 0.1
	done
}

"$bin/emulator" "${emu_flags[@]}" >"$state/emulator.log" 2>&1 &
emu=$!
wait_for "$emu" "$state/emulator.log" "Press Ctrl+C" emulator EMULATOR_PORT "$emu_port"
env "${envs[@]}" "$bin/graphauth" -env-file "" >"$state/app.log" 2>&1 &
app=$!
wait_for "$app" "$state/app.log" "graphauth listening" app PORT "$port"

echo
echo "  Logs: $state/app.log and $state/emulator.log. Ctrl-C stops the app and the emulator."
echo "  graphauth demo: open $app_url"
echo

# Until Ctrl-C, or until one of them stops on its own.
while kill -0 "$emu" 2>/dev/null && kill -0 "$app" 2>/dev/null; do
	sleep 1 &
	wait $! || true
done
# Ctrl-C reaches both programs too, and they may end before this shell runs its trap: ending
# with status 0 means they were told to stop. Anything else is a failure.
failed=''
for p in "$app" "$emu"; do
	if ! kill -0 "$p" 2>/dev/null; then
		wait "$p" 2>/dev/null || failed=1
	fi
done
if [ -z "$failed" ]; then
	stop
	echo
	echo "  graphauth demo: stopped"
	exit 0
fi
echo "make demo: the app or the emulator stopped; see $state/app.log and $state/emulator.log" >&2
exit 1
