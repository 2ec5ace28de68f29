"""Ingest adapters: each brings guests (a peer connection, a name, a control channel) to
the guest core (`guestrec.core`) and knows its own signaling, nothing about files or OBS.

    whip/       our WHIP endpoint and guest page (also any WHIP publisher, e.g. FFmpeg)
    vdoninja/   a VDO.Ninja room: every publisher in it, through VDO.Ninja's own handshake
    sfu/        a Janus VideoRoom room: guests relayed into it, recorder machines, linked Janus
"""
