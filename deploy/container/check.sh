#!/usr/bin/env bash
# npm run container:check: builds and runs Folio's image for real with podman (README: "Containers").
#   1. the base images (deploy/container/base.sh; kept when present), then the app image
#   2. the image: its size, runs as a non-root user, holds no dev dependency, argon2 and sharp load
#   3. PostgreSQL (the services image) -> the one-shot preparation (migrations, demo content) -> the app:
#      /readyz and a post page answer 200; SIGTERM stops it cleanly (exit 0)
#   4. compose.yaml (podman-compose): the whole fleet, /readyz and a post page through its Nginx; down
# Everything is removed on exit. Only folio-* names are used (images, containers, network, volumes).
# Run as root. FOLIO_CHECK_COMPOSE=0 skips step 4. Ports (this project's range): 57580, 57581.
# Needs (Debian): podman runc uidmap slirp4netns debootstrap podman-compose, and
# golang-github-containernetworking-plugin-dnsname (compose's services find each other by name).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
IMAGE=${FOLIO_IMAGE:-localhost/folio-app:latest}
SERVICES=localhost/folio-services:bookworm
NET=folio-check
APP_PORT=${FOLIO_CHECK_PORT:-57580}
HTTP_PORT=${FOLIO_CHECK_HTTP_PORT:-57581}
start=$SECONDS
lap=$SECONDS

# podman 4.3 schedules HEALTHCHECKs with systemd timers, which these machines lack: that one complaint
# is filtered out (the check runs the health check itself: `podman healthcheck run`).
pm() { podman --runtime /usr/sbin/runc --cgroup-manager=cgroupfs "$@" 2> >(grep -v 'systemd connection' >&2 || true); }
step() { printf '\n==> [%4ss] %s\n' "$((SECONDS - start))" "$*"; lap=$SECONDS; }
took() { printf '    %s: %ss\n' "$1" "$((SECONDS - lap))"; lap=$SECONDS; }
fail() { echo "container:check FAILED: $*" >&2; exit 1; }
secret() { node -e 'console.log(require("crypto").randomBytes(36).toString("base64url"))'; }

compose_up=false
compose_down() {
  podman-compose -p folio -f compose.yaml down -v > /dev/null 2>&1
  pm volume rm -f folio_pgdata folio_redisdata folio_media > /dev/null 2>&1
  pm network rm -f folio_default > /dev/null 2>&1
}
cleanup() {
  local status=$?
  set +e
  if [ "$status" -ne 0 ]; then
    for c in folio-check-app folio-app1 folio-app2 folio-migrate folio-nginx; do
      pm container exists "$c" 2>/dev/null && { echo "--- last log lines of $c"; pm logs --tail 25 "$c" 2>&1; }
    done
  fi
  pm rm -f -t 5 folio-check-app folio-check-pg > /dev/null 2>&1
  pm network rm -f "$NET" > /dev/null 2>&1
  [ "${context:-.}" = . ] || rm -rf "$context"
  if [ "$compose_up" = true ]; then compose_down; fi
  exit "$status"
}
trap cleanup EXIT

# Polls `url` until it answers 200 (or `seconds` pass); prints the body to stdout.
wait_ok() {
  local url=$1 seconds=$2 deadline=$((SECONDS + $2))
  until curl -fsS --max-time 5 -H "Host: localhost" "$url" 2> /dev/null; do
    [ $SECONDS -lt $deadline ] || fail "$url did not answer 200 within ${seconds}s"
    sleep 1
  done
}

# /readyz, then the first post linked from the home page, through `base`.
check_pages() {
  local base=$1 home post
  wait_ok "$base/readyz" 180 > /dev/null
  echo "    $base/readyz: 200"
  # The demo content is added by the first app's start: another app may answer before it is there.
  local deadline=$((SECONDS + 120))
  while :; do
    home=$(wait_ok "$base/" 30)
    post=$(grep -o 'href="/blog/[0-9]\{4\}/[0-9]\{2\}/[0-9]\{2\}/[^"/]*/"' <<< "$home" | head -1 | sed 's/^href="//; s/"$//')
    [ -z "$post" ] || break
    [ $SECONDS -lt $deadline ] || fail "no post linked from $base/ (demo content missing?)"
    sleep 1
  done
  wait_ok "$base$post" 30 | grep -q '<article' || fail "$base$post has no <article>"
  echo "    $base$post: 200, an <article>"
}

for tool in podman podman-compose runc debootstrap; do command -v "$tool" > /dev/null || fail "$tool is missing (README: Containers)"; done
[ -x /usr/lib/cni/dnsname ] || fail "the CNI dnsname plugin is missing: apt-get install golang-github-containernetworking-plugin-dnsname"

export POSTGRES_PASSWORD REDIS_PASSWORD SUPERUSER_PASSWORD SESSION_SECRET JWT_KEYS
POSTGRES_PASSWORD=$(secret)
REDIS_PASSWORD=$(secret)
SUPERUSER_PASSWORD=$(secret)
SESSION_SECRET=$(secret)
JWT_KEYS="check:$(secret)"

step "base images (deploy/container/base.sh)"
bash "$here/base.sh"
took "base images"

step "build $IMAGE"
ca=()
# Behind a TLS-inspecting proxy, npm in the build needs this machine's CA bundle: a build secret.
[ -s /etc/ssl/certs/ca-certificates.crt ] && ca=(--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt)
# The build context is the committed tree (HEAD: what CI builds; the work tree may hold others'
# unfinished changes), or the work tree with FOLIO_CHECK_WORKTREE=1.
context=.
if [ "${FOLIO_CHECK_WORKTREE:-0}" != 1 ] && git rev-parse --verify -q HEAD > /dev/null; then
  context=$(mktemp -d /var/tmp/folio-check-context.XXXXXX)
  git archive HEAD | tar -x -C "$context"
  echo "    context: HEAD ($(git rev-parse --short HEAD))"
fi
pm build --pull=never --force-rm --format docker --jobs 2 "${ca[@]}" -t "$IMAGE" "$context" > /tmp/folio-container-build.log 2>&1 || { tail -40 /tmp/folio-container-build.log; fail "podman build"; }
took "podman build"

step "image"
size=$(pm image inspect --format '{{.Size}}' "$IMAGE")
echo "    size: $size bytes ($((size / 1024 / 1024)) MiB)"
user=$(pm image inspect --format '{{.Config.User}}' "$IMAGE")
uid=$(pm run --rm --no-healthcheck "$IMAGE" id -u)
[ -n "$user" ] && [ "$uid" != 0 ] || fail "the image runs as root (USER '$user', uid $uid)"
echo "    runs as: $user (uid $uid)"
pm run --rm --no-healthcheck "$IMAGE" node -e '
  const dev = Object.keys(require("./package.json").devDependencies);
  const found = dev.filter((m) => { try { require.resolve(m + "/package.json"); return true; } catch { return false; } });
  if (found.length) { console.error("dev dependencies in the image: " + found.join(", ")); process.exit(1); }
  console.log(`    no dev dependency (${dev.length} checked, e.g. vitest, typescript, eslint)`);
'
pm run --rm --no-healthcheck "$IMAGE" node --input-type=module -e '
  const argon2 = await import("argon2");
  const hash = await argon2.hash("check");
  if (!(await argon2.verify(hash, "check"))) process.exit(1);
  const sharp = (await import("sharp")).default;
  const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: "#fff" } }).png().toBuffer();
  console.log(`    native modules: argon2 hashes, sharp makes a ${png.length}-byte PNG`);
'
took "image checks"

step "PostgreSQL, migrations, the app container"
pm network exists "$NET" || pm network create "$NET" > /dev/null
pm run -d --name folio-check-pg --network "$NET" -e POSTGRES_USER=folio -e POSTGRES_DB=folio -e POSTGRES_PASSWORD "$SERVICES" folio-postgres > /dev/null
deadline=$((SECONDS + 60))
until pm exec folio-check-pg pg_isready -q -h 127.0.0.1 -U folio -d folio; do
  [ $SECONDS -lt $deadline ] || fail "PostgreSQL did not start"
  sleep 1
done
took "PostgreSQL ready"
url="postgresql://folio:$POSTGRES_PASSWORD@folio-check-pg:5432/folio"
# The one-shot preparation (compose's `migrate`): migrations, demo content, the first admin with
# SUPERUSER_PASSWORD: no password in its output.
out=$(pm run --rm --no-healthcheck --network "$NET" -e DATABASE_URL="$url" -e SESSION_SECRET -e JWT_KEYS -e SUPERUSER_PASSWORD "$IMAGE" node dist/fleet/prepare.js) \
  || { echo "$out" | grep -v 'password:'; fail "the one-shot preparation"; }
{ grep -o '"msg":"[^"]*"' <<< "$out" || true; } | sed 's/^"msg":"/    prepare: /; s/"$//'
grep -q 'admin account created: admin (password from SUPERUSER_PASSWORD)' <<< "$out" || fail "the preparation did not create the admin with SUPERUSER_PASSWORD"
if grep -qiF -e 'password:' -e "$SUPERUSER_PASSWORD" <<< "$out"; then fail "the preparation printed a password"; fi
echo "    no password in its output"
took "migrations + demo content (one-shot)"
pm run -d --name folio-check-app --network "$NET" -p "127.0.0.1:$APP_PORT:3000" -e DATABASE_URL="$url" \
  -e SESSION_SECRET -e JWT_KEYS -e ALLOWED_HOSTS=localhost -e SITE_URL="http://localhost:$APP_PORT" -e WEB_CONCURRENCY=1 "$IMAGE" > /dev/null
check_pages "http://127.0.0.1:$APP_PORT"
pm healthcheck run folio-check-app > /dev/null || fail "the image's HEALTHCHECK fails"
echo "    HEALTHCHECK: healthy"
took "app ready, pages answered"
pm stop -t 30 folio-check-app > /dev/null
code=$(pm inspect --format '{{.State.ExitCode}}' folio-check-app)
[ "$code" = 0 ] || fail "the app exited with $code on SIGTERM"
echo "    SIGTERM: stopped cleanly (exit 0)"
took "stop"
pm rm -f folio-check-app folio-check-pg > /dev/null
pm network rm -f "$NET" > /dev/null

if [ "${FOLIO_CHECK_COMPOSE:-1}" != 0 ]; then
  step "compose.yaml (podman-compose): postgres, redis, migrate, app1, app2, worker, nginx"
  compose_up=true
  export FOLIO_HTTP_PORT=$HTTP_PORT ALLOWED_HOSTS=localhost SITE_URL="http://localhost:$HTTP_PORT"
  # podman-compose 1.0.3 starts services in dependency order but does not wait for their conditions
  # (service_healthy, service_completed_successfully): this does, as Docker Compose would: the
  # databases, healthy -> migrate, exited 0 -> the rest.
  podman-compose -p folio -f compose.yaml up -d postgres redis > /tmp/folio-compose.log 2>&1 || { cat /tmp/folio-compose.log; fail "compose up (databases)"; }
  deadline=$((SECONDS + 60))
  until pm exec folio-postgres pg_isready -q -h 127.0.0.1 -U folio -d folio && pm exec folio-redis redis-cli ping > /dev/null; do
    [ $SECONDS -lt $deadline ] || fail "compose's PostgreSQL or Redis did not start"
    sleep 1
  done
  took "postgres, redis ready"
  podman-compose -p folio -f compose.yaml up -d migrate >> /tmp/folio-compose.log 2>&1 || { cat /tmp/folio-compose.log; fail "compose up migrate"; }
  code=$(pm wait folio-migrate)
  [ "$code" = 0 ] || fail "the migrate one-shot exited with $code"
  if pm logs folio-migrate 2>&1 | grep -qiF -e 'password:' -e "$SUPERUSER_PASSWORD"; then fail "the migrate log holds a password"; fi
  echo "    migrate: exited 0, no password in its log"
  took "migrate"
  podman-compose -p folio -f compose.yaml up -d >> /tmp/folio-compose.log 2>&1 || { cat /tmp/folio-compose.log; fail "compose up"; }
  check_pages "http://127.0.0.1:$HTTP_PORT"
  for c in folio-app1 folio-app2 folio-worker folio-nginx folio-redis folio-postgres; do
    [ "$(pm inspect --format '{{.State.Running}}' "$c")" = true ] || fail "$c is not running"
  done
  echo "    running: app1, app2, worker, nginx, redis, postgres"
  # Redis: no answer without the password; the apps' sessions and cache in its append-only file.
  pm exec folio-redis env -u REDISCLI_AUTH redis-cli ping 2>&1 | grep -q NOAUTH || fail "compose's Redis answers without a password"
  pm exec folio-redis sh -c 'ls /var/lib/redis/appendonlydir/*.aof' > /dev/null || fail "compose's Redis keeps no append-only file"
  echo "    redis: password required (NOAUTH without it), append-only file on its volume"
  took "compose up, pages through Nginx"
  compose_down
  compose_up=false
  took "compose down"
fi

step "container:check passed in $((SECONDS - start))s (image $((size / 1024 / 1024)) MiB)"
