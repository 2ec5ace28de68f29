"""The studio's server: the engine thread and the HTTP side guests and the operator reach.

    engine          the thread-safe API for the OBS script and the command line
    loop_thread     the asyncio loop in its own thread; calls into it with a timeout
    studio          what runs on that loop: guest core, ingest, room, return feed, server
    machine_load    how busy that loop is: room for more guests, or the machine is full
    settings        the engine's settings and the error it raises for the user
    http_server     the HTTP server: TLS off this machine, the connection guard, the app
    web_app         the HTTP application: guest page, WHIP and upload routes, ICE servers
    web_guard       bounds on HTTP connections, in all and per address
    access          the roles: guest token, invites, operator key; who may join
    invites         one guest's own link: named, expiring, revocable, one connection at a time
    operator_auth   the operator key checked on the operator's routes (401 / 403)
    control_desk    the operator's side kept for the engine's life: roles, pictures, changes
    control_room    what the control room sees and does: guests, invites, files, actions
    control_routes  the control room over HTTP: its page and the operator's API
    event_stream    server-sent events of the studio's state for the control room
    guest_pictures  each guest's latest picture, as a JPEG when asked (decoded while looked at)
    public_status   a guest's status as the HTTP API shows it (no secrets, no addresses)
    certificates    the self-signed HTTPS certificate; the DTLS identity for FFmpeg publishers
    secrecy         secrets kept out of logs; where private keys are kept
    netaddr         the address put in the links we show
"""
