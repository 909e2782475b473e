#!/usr/bin/env bash
# Makes the Node base image the Dockerfile builds on, for a machine that cannot pull
# node:20-bookworm-slim from a registry (air-gapped, or a Docker Hub mirror is not allowed):
# a Debian bookworm root file system from debootstrap (minbase) with this machine's Node.js laid
# out as the official image has it:
#
#   /usr/local/bin/node                  the node binary (it links only glibc and libstdc++)
#   /usr/local/lib/node_modules/npm      npm, with /usr/local/bin/npm and npx
#   /usr/local/include/node              Node's headers (native addons build against them)
#
# then `docker import`s it under a tag the Dockerfile's NODE_IMAGE build argument takes:
#
#   scripts/docker-base-image.sh [tag]   # default node:20-bookworm-slim-local
#   docker build --build-arg NODE_IMAGE=node:20-bookworm-slim-local -t agentry .
#
# Idempotent: an image of that tag made from the same Node version is kept (--force makes it
# again). If npm here is set to trust a certificate file (`npm config get cafile`, e.g. a site's
# TLS-inspecting proxy) or to use another registry, the image's npm gets the same settings
# (/usr/local/etc/npmrc), so `npm ci` in the build stage reaches the registry the way this
# machine does. Needs root, debootstrap, Node >= 20.19 and a Debian mirror (DEBIAN_MIRROR,
# default http://deb.debian.org/debian).
set -euo pipefail

force=false
tag=''
for arg in "$@"; do
  case "$arg" in
    --force) force=true ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "docker-base-image: unknown option $arg (try --help)" >&2
      exit 2
      ;;
    *) tag="$arg" ;;
  esac
done
tag="${tag:-node:20-bookworm-slim-local}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
say() { printf '[base image] %s\n' "$*"; }
fail() {
  printf '[base image] error: %s\n' "$*" >&2
  exit 1
}

command -v docker >/dev/null 2>&1 || fail 'docker is not installed'
docker info >/dev/null 2>&1 || fail 'no Docker engine answers (docker info failed)'
command -v node >/dev/null 2>&1 || fail 'node is not installed'
node_bin="$(readlink -f "$(command -v node)")"
node_version="$(node -p process.versions.node)"
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a === 20 && b >= 19 ? 0 : 1)' ||
  fail "Node $node_version here; the image needs Node 20.19 or a later 20.x (Agentry's engines field, the LTS line the Dockerfile names)"

existing="$(docker image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$tag" 2>/dev/null | sed -n 's/^NODE_VERSION=//p' || true)"
if [ "$existing" = "$node_version" ] && [ "$force" = false ]; then
  say "$tag exists (Node $node_version): nothing to do"
  exit 0
fi
old_id="$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
if [ -n "$existing" ]; then say "$tag exists (Node $existing): making it again with Node $node_version"; fi

[ "$(id -u)" = 0 ] || fail 'debootstrap and the root file system need root'
command -v debootstrap >/dev/null 2>&1 || fail 'debootstrap is not installed (apt-get install debootstrap)'

npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
[ -f "$npm_dir/package.json" ] || fail "cannot find npm's package next to $(command -v npm)"
# Node's headers: where npm builds native addons against (its nodedir), else beside the binary's prefix.
nodedir="$(npm config get nodedir 2>/dev/null || true)"
case "$nodedir" in '' | null | undefined) nodedir="$(node -p 'require("node:path").resolve(process.execPath, "..", "..")')" ;; esac
headers="$nodedir/include/node"
[ -f "$headers/node.h" ] || fail "Node's headers are not in $headers (install them, or set npm's nodedir)"

rootfs="$(mktemp -d "${TMPDIR:-/tmp}/agentry-base-XXXXXX")"
trap 'rm -rf "$rootfs"' EXIT

say "debootstrap --variant=minbase bookworm from $mirror (a few minutes)"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" | grep -E '^I: (Retrieving Release|Resolving|Checking component|Installing core|Configuring apt|Base system installed)' || true
[ -x "$rootfs/usr/bin/apt-get" ] || fail 'debootstrap did not finish (see the lines above)'
cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
EOF
# As debian:bookworm-slim (the official image's base): no documentation, manual pages or
# translations, neither now nor from the packages a Dockerfile installs later.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
SLIM
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +

say "Node $node_version from $node_bin -> /usr/local/bin/node"
install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
say "npm $(node -p "require('$npm_dir/package.json').version") from $npm_dir -> /usr/local/lib/node_modules/npm"
mkdir -p "$rootfs/usr/local/lib/node_modules"
cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
say "headers from $headers -> /usr/local/include/node"
mkdir -p "$rootfs/usr/local/include"
cp -a "$headers" "$rootfs/usr/local/include/node"

npmrc=''
cafile="$(npm config get cafile 2>/dev/null || true)"
if [ -n "$cafile" ] && [ "$cafile" != null ] && [ "$cafile" != undefined ] && [ -f "$cafile" ]; then
  install -D -m 0644 "$cafile" "$rootfs/usr/local/etc/npm-ca.crt"
  npmrc+=$'cafile=/usr/local/etc/npm-ca.crt\n'
  say "npm trusts $cafile here: copied to /usr/local/etc/npm-ca.crt for the image's npm"
fi
registry="$(npm config get registry 2>/dev/null || true)"
if [ -n "$registry" ] && [ "$registry" != 'https://registry.npmjs.org/' ]; then
  npmrc+="registry=$registry"$'\n'
  say "npm registry here: $registry (set for the image's npm)"
fi
[ -n "$npmrc" ] && printf '%s' "$npmrc" >"$rootfs/usr/local/etc/npmrc"

chroot_bin="$(command -v chroot)"
in_root() { env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root "$chroot_bin" "$rootfs" "$@"; }
in_root /usr/local/bin/node --version >/dev/null || fail 'node does not run in the new root file system (a library it links is missing?)'
in_root /usr/local/bin/npm --version >/dev/null || fail 'npm does not run in the new root file system'

rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/tmp/* "$rootfs"/var/log/*.log
say "docker import -> $tag"
tar -C "$rootfs" --numeric-owner -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c "ENV NODE_VERSION=$node_version" \
  -c 'CMD ["node"]' \
  - "$tag" >/dev/null
# The image it replaces, unless images built on it still need it.
if [ -n "$old_id" ]; then docker image rm "$old_id" >/dev/null 2>&1 || true; fi
say "made $tag ($(docker image inspect --format '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
