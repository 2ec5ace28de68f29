"""The studio's server: the engine thread and the HTTP side guests reach.

    engine        the asyncio loop in its own thread, with a thread-safe API for the OBS
                  script and the command line
    settings      the engine's settings and the error it raises for the user
    http_server   the HTTP server: TLS off this machine, the connection guard, the app
    web_app       the HTTP application: guest page, WHIP and upload routes, status API
    web_guard     bounds on HTTP connections, in all and per address
    certificates  the self-signed HTTPS certificate; the DTLS identity for FFmpeg publishers
    secrecy       the guest token kept out of logs; where private keys are kept
    netaddr       the address put in the links we show
"""
