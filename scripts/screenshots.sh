#!/bin/sh
# Screenshots of the weekly digest's HTML part, for docs/digest.md (not part of the tests or CI).
#
# Builds the scenario of tests/test_digest.py in a throwaway folder (the mail of
# tests/fixtures/due/other-words/ and daemon/demo/mailbox/, the PMs and institutions of
# tests/fixtures/digest/config.toml), renders Maria Lopez's digest of the week ending
# Mon 2026-10-19 08:00 with `casewatch digest --format html`, and photographs it with headless
# Chromium: a phone (390 px wide), the same phone scrolled through the whole digest, and a
# desktop window (1280 px).
#
#   scripts/screenshots.sh            # writes docs/digest-narrow.png, docs/digest-narrow-full.png
#                                     # and docs/digest-wide.png
#   BROWSER=/path/to/chrome scripts/screenshots.sh
#
# Needs .venv (make run or make test sets it up) and Chromium: on Debian, as root,
# `apt-get install -y chromium fonts-liberation` (Liberation Sans stands in for Arial).
set -eu

cd "$(dirname "$0")/.."
casewatch=.venv/bin/casewatch
[ -x "$casewatch" ] || { echo "no $casewatch: run 'make test' (or 'make run') first" >&2; exit 2; }
browser=${BROWSER:-$(command -v chromium || command -v chromium-browser || command -v google-chrome \
    || command -v chromium-headless-shell || true)}
[ -n "$browser" ] || { echo "no Chromium found (apt-get install -y chromium), or set BROWSER" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
cp tests/fixtures/digest/config.toml "$work/config.toml"
printf '\n[state]\ndb = "%s/casewatch.db"\n' "$work" >>"$work/config.toml"

"$casewatch" --config "$work/config.toml" ingest tests/fixtures/due/other-words/*.eml daemon/demo/mailbox/*.eml
"$casewatch" --config "$work/config.toml" digest --at 2026-10-19T09:00 --pm mlopez@orbiscascade.org \
    --format html >"$work/digest.html"

shoot() {  # shoot OUT.png WIDTH,HEIGHT
    "$browser" --headless --disable-gpu --no-sandbox --hide-scrollbars --force-device-scale-factor=1 \
        --screenshot="$1" --window-size="$2" "file://$work/digest.html" 2>/dev/null
    echo "wrote $1"
}
shoot docs/digest-narrow.png 390,1400
shoot docs/digest-narrow-full.png 390,2900
shoot docs/digest-wide.png 1280,1400
