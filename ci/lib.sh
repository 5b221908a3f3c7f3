# Shared helpers for the ci/ scripts (sourced, not run).

# rustup installs cargo under ~/.cargo/bin, which a non-login shell may not have on PATH.
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
    source "$HOME/.cargo/env"
fi

# Prints a heading and runs a command, reporting how long it took.
step() {
    local name=$1
    shift
    printf '\n== %s\n' "$name"
    local start=$SECONDS
    "$@"
    printf '== %s: ok (%ds)\n' "$name" $((SECONDS - start))
}

# Installs the Debian packages the build and the tests need, when any is missing. CI runs as root
# on a fresh machine; a developer without root who already has them is not asked for anything.
install_system_packages() {
    local wanted=(openssl libssl-dev pkg-config gcc python3 python3-venv curl ca-certificates)
    local missing=()
    local p
    for p in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    # The machine's Python may come from pyenv rather than Debian: accept any python3 with venv.
    if printf '%s\n' "${missing[@]}" | grep -qx 'python3\|python3-venv' && python3 -c 'import venv, ensurepip' 2>/dev/null; then
        missing=($(printf '%s\n' "${missing[@]}" | grep -vx 'python3\|python3-venv' || true))
    fi
    if ((${#missing[@]})); then
        echo "installing: ${missing[*]}"
        local sudo=
        [ "$(id -u)" = 0 ] || sudo=sudo
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
}

# Creates .venv (once) with the Python packages a requirements file names.
python_venv() {
    local requirements=$1
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r "$requirements"
}

# Starts the emulator binary $1 with the remaining arguments and waits for its ready line
# (no sleeping: the read returns when the line is printed). Sets EMU_PID, EMU_HTTPS, EMU_IMDS,
# EMU_CA. Stop it with stop_emulator.
start_emulator() {
    local bin=$1
    shift
    coproc EMU { exec "$bin" "$@"; }
    local line
    if ! read -r line <&"${EMU[0]}"; then
        echo "akv-emulator exited before it was ready" >&2
        return 1
    fi
    EMU_HTTPS=$(json_field "$line" https)
    EMU_IMDS=$(json_field "$line" imds)
    EMU_CA=$(json_field "$line" ca)
}

stop_emulator() {
    if [ -n "${EMU_PID:-}" ]; then
        kill "$EMU_PID" 2>/dev/null || true
        wait "$EMU_PID" 2>/dev/null || true
        EMU_PID=
    fi
}

# json_field '{"a":"b"}' a → b
json_field() {
    python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}
