#!/usr/bin/env bash
# Installs the headless browser the dashboard test drives (chromium and its WebDriver) when
# missing.
set -euo pipefail
exec bash "$(dirname "$0")/deps.sh" chromium chromium-driver
