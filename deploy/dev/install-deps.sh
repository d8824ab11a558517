#!/usr/bin/env bash
# Installs the Debian packages Kaiping's tests and demo need, when they are missing:
# PostgreSQL server binaries, Chromium for browser tests, SoftHSM as a real PKCS#11 token,
# a CJK TrueType font for Chinese PDFs, poppler's pdfsig and NSS's certutil (the standard
# verifier the PDF signature tests check signed reports with), and a C compiler (the race detector and the PKCS#11
# token support use cgo). Needs root (or sudo) the first time only.
set -euo pipefail
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing+=(postgresql)
command -v chromium >/dev/null || missing+=(chromium)
command -v softhsm2-util >/dev/null || missing+=(softhsm2)
[ -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ] || missing+=(fonts-droid-fallback)
# Droid Sans Fallback has no Latin letters or digits: the opening record PDF sets those in DejaVu.
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
# pdfsig checks signed reports as a reader would; certutil makes its NSS trust store.
command -v pdfsig >/dev/null || missing+=(poppler-utils)
command -v certutil >/dev/null || missing+=(libnss3-tools)
command -v gcc >/dev/null || missing+=(gcc libc6-dev)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]} ..." >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
# Debian starts a cluster on install; tests run their own on free ports, so stop it.
if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v service >/dev/null; then
	$sudo service postgresql stop >/dev/null 2>&1 || true
fi
