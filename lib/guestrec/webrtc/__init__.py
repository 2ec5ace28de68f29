"""WebRTC details shared by every ingest: SDP, ICE servers and TURN.

    sdp         our answer tuned to the record plan; a guest's offer inspected
    ice         the ICE servers setting (W3C RTCIceServer JSON) for the studio, the guest
                page and WHIP clients
    turn_rest   short-lived TURN credentials minted from a shared secret (coturn)
    turn_check  one allocation per TURN URL, reported in plain words
    ice_status  how a connection crossed the network: candidate types and the selected pair
"""
