"""The recording made in the guest's own browser, uploaded to the studio while it records.

    guest_plan     what the browser records for a record plan (MIME types, bitrates)
    guest_upload   one such recording arriving in slices: the .part file, finalizing, sidecar
    guest_uploads  every such recording, looked up by id and checked by its own key
    upload_routes  the HTTP routes the page uploads through (PUT, GET, POST finish)
    alignment      where the guest's file sits on the studio file's timeline
"""
