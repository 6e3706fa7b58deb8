#!/usr/bin/env bash
# fetch_human.sh [CACHE_DIR]: puts the CenterNet graph model of npm @vladmandic/human 3.3.6
# (models/centernet.json + models/centernet.bin) into CACHE_DIR
# (default: models/.cache/human-3.3.6/, git-ignored). How: fetch_npm.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VERSION='3.3.6'
# npm view @vladmandic/human@3.3.6 dist.integrity
INTEGRITY='sha512-Nr5mPfq1gQ+uKeXY5uM3Fj8UxvF5CEh2s6txM5wRThqaW0mF9huooOuZSrT8hhGho0hGaXLFdAwfD/2+teCv6A=='
exec bash "$here/fetch_npm.sh" fetch_human '@vladmandic/human' "$VERSION" "$INTEGRITY" \
    package/models "${1:-$here/.cache/human-$VERSION}" centernet.json centernet.bin
