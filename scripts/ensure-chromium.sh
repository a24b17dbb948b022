#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through Playwright (never `playwright install`:
# it downloads a browser, which an intranet machine cannot do).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's chromium for the browser tests ..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "Browser tests need /usr/bin/chromium: run 'sudo apt-get install chromium' once." >&2
  exit 1
fi
