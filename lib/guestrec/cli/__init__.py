"""The command line, `python3 -m guestrec ...`, no OBS needed.

    commands      serve, sfu-record, sfu-link, convert, repair, export: running them
    arguments     every subcommand's options and their help
    stop_signals  Ctrl-C, SIGTERM and Ctrl-Break stop a command, on any OS
    convert       a recording into another container by stream copy, never re-encoded
    repair        duration and cues rewritten for a recording cut short by a crash
    export        a session folder for editing (the work is done in guestrec.export)
"""
