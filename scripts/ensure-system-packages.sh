#!/usr/bin/env bash
# Installs the Debian packages the tests need when they are missing (CI machines start bare):
# chromium + a CJK font for the browser journeys, PostgreSQL for the database tests, gettext to
# compile the translation catalogs, openssl for the test control plane's certificates, and Go for
# building kube-apiserver + etcd. Needs root (or passwordless sudo); prints what it does.
set -euo pipefail

missing=()
need() { # need COMMAND-OR-PATH PACKAGE
  if [[ "$1" == /* ]]; then [[ -e "$1" ]] || missing+=("$2"); else command -v "$1" >/dev/null 2>&1 || missing+=("$2"); fi
}
need /usr/bin/chromium chromium
need /usr/share/fonts/truetype/wqy/wqy-microhei.ttc fonts-wqy-microhei
need msgfmt gettext
need openssl openssl
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then missing+=(postgresql); fi

if ((${#missing[@]} == 0)); then
  echo "system packages: all present"
else
  echo "system packages: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo -n)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v go >/dev/null 2>&1 && [[ ! -x /usr/local/go/bin/go ]]; then
  echo "WARNING: Go is not installed; the integration tests need it to build kube-apiserver + etcd." >&2
fi
