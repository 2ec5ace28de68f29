#!/usr/bin/env bash
# A TURN server of your own for Guest Recorder, on a Debian/Ubuntu machine with a public
# address: installs Debian's coturn, writes its configuration with a generated shared
# secret, starts it, and prints the two values to paste into OBS (or `serve`).
#
#   sudo bash install/turn.sh [--public-ip IP] [--realm NAME] [--port 3478] [--new-secret]
#   bash install/turn.sh --write-config FILE --public-ip IP   # only write a configuration
#
# The server relays only for holders of credentials minted from the secret (no open
# relay), never to private, loopback or link-local addresses (a guest cannot use it to
# reach your network), and keeps the secret it made on a later run unless --new-secret.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CONF=/etc/turnserver.conf
PORT=3478
REALM=""
PUBLIC_IP=""
NEW_SECRET=0
WRITE_ONLY=0
MARKER="# Written by Guest Recorder install/turn.sh"

usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
die() { echo "error: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --public-ip) PUBLIC_IP="${2:?}"; shift 2 ;;
    --realm) REALM="${2:?}"; shift 2 ;;
    --port) PORT="${2:?}"; shift 2 ;;
    --new-secret) NEW_SECRET=1; shift ;;
    --write-config) CONF="${2:?}"; WRITE_ONLY=1; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage 2 ;;
  esac
done

[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "--port must be 1-65535"

# The address guests reach: given, or this machine's address on its default route.
if [ -z "$PUBLIC_IP" ]; then
  PUBLIC_IP="$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -1 || true)"
  [ -n "$PUBLIC_IP" ] || die "no default route: give --public-ip"
fi
[[ "$PUBLIC_IP" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || die "--public-ip must be an IPv4 address"
case "$PUBLIC_IP" in
  10.*|192.168.*|172.1[6-9].*|172.2[0-9].*|172.3[01].*|127.*)
    echo "warning: $PUBLIC_IP is a private address; guests on the internet cannot reach it." >&2
    echo "         On a cloud machine behind 1:1 NAT pass its public address with --public-ip." >&2 ;;
esac
REALM="${REALM:-$PUBLIC_IP}"

if [ "$WRITE_ONLY" -eq 0 ]; then
  [ "$(id -u)" -eq 0 ] || die "run as root (sudo), or use --write-config FILE"
  apt_ensure coturn
fi

# Keep the secret of an earlier run, so what is pasted into OBS stays valid.
SECRET=""
if [ "$NEW_SECRET" -eq 0 ] && [ -f "$CONF" ] && grep -qF "$MARKER" "$CONF"; then
  SECRET="$(sed -n 's/^static-auth-secret=//p' "$CONF" | head -1 || true)"
fi
[ -n "$SECRET" ] || SECRET="$(head -c 32 /dev/urandom | base64 | tr -d '/+=\n' | head -c 40)"

# This machine's own address, when the public one is mapped onto it (cloud 1:1 NAT).
LOCAL_IP="$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -1 || true)"
EXTERNAL="$PUBLIC_IP"
if [ -n "$LOCAL_IP" ] && [ "$LOCAL_IP" != "$PUBLIC_IP" ]; then EXTERNAL="$PUBLIC_IP/$LOCAL_IP"; fi

if [ -f "$CONF" ] && ! grep -qF "$MARKER" "$CONF"; then
  cp -p "$CONF" "$CONF.before-guestrec"
  echo "Your previous $CONF is kept as $CONF.before-guestrec"
fi
umask 077
cat >"$CONF" <<EOF
$MARKER
listening-port=$PORT
external-ip=$EXTERNAL
realm=$REALM
fingerprint
# Only credentials minted from this secret (by the studio, per guest, for a few hours).
use-auth-secret
static-auth-secret=$SECRET
# STUN and TURN over UDP and TCP; no TLS listener (media is encrypted end to end anyway).
no-tls
no-dtls
no-cli
no-multicast-peers
# Relay to the internet only: never to private, loopback, link-local or reserved ranges.
denied-peer-ip=0.0.0.0-0.255.255.255
denied-peer-ip=10.0.0.0-10.255.255.255
denied-peer-ip=100.64.0.0-100.127.255.255
denied-peer-ip=127.0.0.0-127.255.255.255
denied-peer-ip=169.254.0.0-169.254.255.255
denied-peer-ip=172.16.0.0-172.31.255.255
denied-peer-ip=192.0.0.0-192.0.0.255
denied-peer-ip=192.168.0.0-192.168.255.255
denied-peer-ip=198.18.0.0-198.19.255.255
denied-peer-ip=240.0.0.0-255.255.255.255
denied-peer-ip=::1
denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
denied-peer-ip=fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff
# Bounded use: a few guests, each a few Mbit/s.
user-quota=12
total-quota=100
min-port=49152
max-port=65535
simple-log
EOF
chmod 600 "$CONF"
if [ "$WRITE_ONLY" -eq 0 ]; then
  chown turnserver: "$CONF" 2>/dev/null || true
  if [ -f /etc/default/coturn ]; then
    sed -i 's/^#\?TURNSERVER_ENABLED=.*/TURNSERVER_ENABLED=1/' /etc/default/coturn
  fi
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl enable coturn >/dev/null 2>&1 || true
    systemctl restart coturn
  else
    service coturn restart || echo "warning: start coturn yourself: turnserver -c $CONF" >&2
  fi
fi

cat <<EOF

coturn is set up ($CONF). Open UDP and TCP port $PORT and UDP 49152-65535 in this
machine's firewall. Paste these two values into OBS (Tools > Scripts > Guest Recorder),
or pass them to \`serve --ice-servers ... --turn-secret ...\`:

ICE servers: [{"urls": ["stun:$PUBLIC_IP:$PORT"]}, {"urls": ["turn:$PUBLIC_IP:$PORT?transport=udp", "turn:$PUBLIC_IP:$PORT?transport=tcp"]}]
TURN secret: $SECRET
EOF
