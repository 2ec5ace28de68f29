#!/usr/bin/env bash
# Install Debian's Janus and give it a configuration of our own: the VideoRoom plugin (guests'
# media), the AudioBridge plugin (what guests hear: everyone but themselves, mixed by Janus)
# and the HTTP and WebSocket APIs only, an API secret, a room secret (also the admin key, so
# nobody else creates rooms or RTP forwarders), media ports in a range. Then print what to
# put in OBS and in `guestrec serve` / `guestrec sfu-record`.
#
#   sudo bash install/janus.sh [options]
#
#   --dir DIR            configuration folder (default /etc/janus-guestrec)
#   --room N             VideoRoom and AudioBridge room number (default 1234)
#   --publishers N       guests the room takes (default 64)
#   --api-secret S       API secret (default: the one already in DIR, else a random one)
#   --room-secret S      room secret and admin key (default: kept, else random)
#   --rtp-ports A-B      UDP media ports (default 20000-40000)
#   --http-port P        HTTP API port (default 8088), --ws-port P WebSocket (default 8188)
#   --bind ADDR          listen for the APIs on this address only (default: every address)
#   --interface IF       gather media candidates on this interface or address only
#   --public-ip IP       the public address of a Janus behind a 1:1 NAT (cloud machines)
#   --no-install         only write the configuration (Janus already installed)
#   --no-start           do not start the service
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DIR=/etc/janus-guestrec
ROOM=1234
HOLD_OFFSET=1000000000  # the AudioBridge hold room: ROOM + this (lib/guestrec/ingest/sfu/audiobridge.py)
PUBLISHERS=64
API_SECRET=""
ROOM_SECRET=""
RTP_PORTS=20000-40000
HTTP_PORT=8088
WS_PORT=8188
BIND=""
INTERFACE=""
PUBLIC_IP=""
INSTALL=1
START=1

die() { echo "janus.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR="$2"; shift 2 ;;
    --room) ROOM="$2"; shift 2 ;;
    --publishers) PUBLISHERS="$2"; shift 2 ;;
    --api-secret) API_SECRET="$2"; shift 2 ;;
    --room-secret) ROOM_SECRET="$2"; shift 2 ;;
    --rtp-ports) RTP_PORTS="$2"; shift 2 ;;
    --http-port) HTTP_PORT="$2"; shift 2 ;;
    --ws-port) WS_PORT="$2"; shift 2 ;;
    --bind) BIND="$2"; shift 2 ;;
    --interface) INTERFACE="$2"; shift 2 ;;
    --public-ip) PUBLIC_IP="$2"; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    --no-start) START=0; shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ "$ROOM" =~ ^[0-9]+$ ]] || die "--room must be a number"
[[ "$PUBLISHERS" =~ ^[0-9]+$ ]] || die "--publishers must be a number"
[[ "$RTP_PORTS" =~ ^[0-9]+-[0-9]+$ ]] || die "--rtp-ports must look like 20000-40000"
[[ "$HTTP_PORT" =~ ^[0-9]+$ && "$WS_PORT" =~ ^[0-9]+$ ]] || die "ports must be numbers"
for value in "$API_SECRET" "$ROOM_SECRET" "$BIND" "$INTERFACE" "$PUBLIC_IP"; do
  if [[ "$value" == *[\"\\[:space:]]* ]]; then
    die "secrets and addresses may not hold quotes, backslashes or spaces"
  fi
done

if [ "$INSTALL" -eq 1 ]; then apt_ensure janus; fi
command -v janus >/dev/null || die "janus is not installed (run without --no-install)"

# A secret already written is kept, so OBS and the recorders keep working after a re-run.
kept() { [ -f "$DIR/$1" ] && sed -n "s/^\s*$2 = \"\(.*\)\"/\1/p" "$DIR/$1" | head -1; }
random_secret() { head -c 18 /dev/urandom | base64 | tr '+/' '-_'; }
[ -n "$API_SECRET" ] || API_SECRET="$(kept janus.jcfg api_secret || true)"
[ -n "$API_SECRET" ] || API_SECRET="$(random_secret)"
[ -n "$ROOM_SECRET" ] || ROOM_SECRET="$(kept janus.plugin.videoroom.jcfg secret || true)"
[ -n "$ROOM_SECRET" ] || ROOM_SECRET="$(random_secret)"

LIBDIR="$(dirname "$(dpkg -L janus 2>/dev/null | grep -m1 '/janus/plugins/libjanus_videoroom.so$' || echo /usr/lib/x86_64-linux-gnu/janus/plugins/x)")"
LIBDIR="$(dirname "$LIBDIR")"
# Everything in a folder but the modules we keep, as Janus's "disable" lists want it.
others() { (cd "$LIBDIR/$1" 2>/dev/null && ls lib*.so 2>/dev/null | grep -v -x -e "${2:-none}" -e "${3:-none}" | paste -sd, -); }

mkdir -p "$DIR"
umask 077
cat >"$DIR/janus.jcfg" <<EOF
# Written by install/janus.sh (Guest Recorder for OBS); run it again to change.
general: {
	configs_folder = "$DIR"
	plugins_folder = "$LIBDIR/plugins"
	transports_folder = "$LIBDIR/transports"
	events_folder = "$LIBDIR/events"
	loggers_folder = "$LIBDIR/loggers"
	debug_level = 4
	server_name = "guestrec-janus"
	api_secret = "$API_SECRET"
	session_timeout = 60
	protected_folders = ["/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/sbin", "/sys", "/usr", "/var"]
}
media: {
	rtp_port_range = "$RTP_PORTS"
}
nat: {
	ignore_mdns = true
$( [ -n "$INTERFACE" ] && echo "	ice_enforce_list = \"$INTERFACE\"" )
$( [ -n "$PUBLIC_IP" ] && echo "	nat_1_1_mapping = \"$PUBLIC_IP\"" )
}
plugins: {
	disable = "$(others plugins libjanus_videoroom.so libjanus_audiobridge.so)"
}
transports: {
	disable = "$(others transports libjanus_http.so libjanus_websockets.so)"
}
events: {
	broadcast = false
	disable = "$(others events)"
}
loggers: {
	disable = "$(others loggers)"
}
EOF

cat >"$DIR/janus.plugin.videoroom.jcfg" <<EOF
# Written by install/janus.sh. The room secret is also the admin key: creating rooms and
# RTP forwarding (lock_rtp_forward) need it.
general: {
	admin_key = "$ROOM_SECRET"
	lock_rtp_forward = true
}
room-$ROOM: {
	description = "Guest Recorder"
	secret = "$ROOM_SECRET"
	publishers = $PUBLISHERS
	bitrate = 0
	fir_freq = 10
	audiocodec = "opus"
	videocodec = "vp8,h264"
	notify_joining = true
	record = false
	lock_record = true
}
EOF

cat >"$DIR/janus.plugin.audiobridge.jcfg" <<EOF
# Written by install/janus.sh. The return feed through the SFU: each guest joins this room
# with a second connection and hears every other participant (and the studio) but not
# itself. Same room number and secret as the VideoRoom room.
general: {
	admin_key = "$ROOM_SECRET"
	lock_rtp_forward = true
	events = false
}
room-$ROOM: {
	description = "Guest Recorder return"
	secret = "$ROOM_SECRET"
	sampling_rate = 48000
	audiolevel_event = false
	record = false
	# 40 ms of room for jitter: Janus then adds about 30-60 ms mouth-to-ear (4: about 100 ms)
	default_prebuffering = 2
}
# Guests on hold wait here, muted: they hear nothing and nobody hears them.
room-$((ROOM + HOLD_OFFSET)): {
	description = "Guest Recorder hold"
	secret = "$ROOM_SECRET"
	sampling_rate = 48000
	audiolevel_event = false
	record = false
}
EOF

cat >"$DIR/janus.transport.http.jcfg" <<EOF
general: {
	json = "plain"
	base_path = "/janus"
	http = true
	port = $HTTP_PORT
$( [ -n "$BIND" ] && echo "	ip = \"$BIND\"" )
	https = false
}
admin: {
	admin_http = false
	admin_https = false
}
EOF

cat >"$DIR/janus.transport.websockets.jcfg" <<EOF
general: {
	json = "plain"
	ws = true
	ws_port = $WS_PORT
$( [ -n "$BIND" ] && echo "	ws_ip = \"$BIND\"" )
	wss = false
}
admin: {
	admin_ws = false
	admin_wss = false
}
EOF

RUN="janus --config=$DIR/janus.jcfg --configs-folder=$DIR --disable-colors"
if [ "$START" -eq 1 ]; then
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    cat >/etc/systemd/system/guestrec-janus.service <<EOF
[Unit]
Description=Janus for Guest Recorder for OBS
After=network-online.target

[Service]
ExecStart=/usr/bin/$RUN
Restart=on-failure
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
EOF
    # Debian's own unit listens on the same ports.
    systemctl disable --now janus.service 2>/dev/null || true
    systemctl daemon-reload
    systemctl enable --now guestrec-janus.service
    systemctl restart guestrec-janus.service
    echo "Janus runs as guestrec-janus.service."
  else
    echo "No systemd here: start Janus with"
    echo "  $RUN"
  fi
fi

HOST="${PUBLIC_IP:-${BIND:-$(hostname -I 2>/dev/null | awk '{print $1}')}}"
HOST="${HOST:-THIS-MACHINE}"
cat <<EOF

Janus configuration: $DIR (room $ROOM, media ports $RTP_PORTS/udp)
Open to guests and recorders: TCP $HTTP_PORT (and $WS_PORT), UDP $RTP_PORTS.

In OBS (Tools > Scripts > Guest Recorder): SFU = janus:http://$HOST:$HTTP_PORT/janus
  SFU room = $ROOM, SFU secret = $API_SECRET
Studio without OBS:
  python3 -m guestrec serve --sfu janus:http://$HOST:$HTTP_PORT/janus --sfu-room $ROOM --sfu-secret $API_SECRET
Recorder machines (one line each, I = 1..N):
  python3 -m guestrec sfu-record --sfu janus:http://$HOST:$HTTP_PORT/janus --sfu-room $ROOM --sfu-secret $API_SECRET --shard I/N --out recordings
Room secret (admin key; keep it private): $ROOM_SECRET
EOF
