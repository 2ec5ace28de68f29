"""What every layer shares: pure, small, no aiortc at import.

    plan        the record plan: `&record` settings -> what to ask of a guest, what to write
    names       guest names made safe for file and source names; recording file names
    interfaces  the seams between layers, as protocols (SessionHost, GuestSink)
    access      who may join and which WHIP session is whose (GuestPass), as a seam
    background  tasks left to finish by themselves, held until done, failures logged
"""
