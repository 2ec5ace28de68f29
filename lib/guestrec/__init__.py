"""Guest Recorder for OBS: WebRTC guests in, one ISO recording per guest out.

Each subpackage lists its modules; lib/README.md shows how they fit together.

    common        the record plan, safe names, the seams between layers
    webrtc        SDP, ICE servers, TURN credentials and checks
    ingest        what brings guests: whip/, vdoninja/, sfu/
    core          the guest core: one guest whatever brought it (GuestRoster)
    media         the studio's recording of each guest
    uploads       the recording made in the guest's own browser
    conversation  the return feed: what guests hear and see of each other
    server        the engine thread, the HTTP side, roles and the control room's API
    obs_bridge    the OBS side, through ctypes (the only package touching libobs)
    cli           the command line: serve, sfu-record, sfu-link, convert, repair, export
    export        a session folder for editors: timelines, stems, proxies
    guest_page, control_page   the guest page and the control room (static files)
"""

__version__ = "0.1.0"
