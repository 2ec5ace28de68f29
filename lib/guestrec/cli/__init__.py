"""The command line, `python3 -m guestrec ...`, no OBS needed.

    commands  serve, sfu-record, sfu-link, convert, repair, export: options and running them
    convert   a recording into another container by stream copy, never re-encoded
    repair    duration and cues rewritten for a recording cut short by a crash
    export    a session folder for editing (the work is done in guestrec.export)
"""
