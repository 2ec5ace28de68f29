"""Start OBS Studio with the guest recorder script loaded, for the run command
(install/run-obs.sh) and the tests. No libobs here.

    obs_config   an OBS configuration of our own (profile, scene collection, obs-websocket)
                 that loads the script, under an XDG_CONFIG_HOME of our own
    obs_process  OBS started (under Xvfb without a display) and closed the way a user does
"""
