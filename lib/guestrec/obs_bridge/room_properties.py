"""The script's "VDO.Ninja room" group: its fields, reading them, and a pasted link
filling them. Imported by the script only: needs obspython."""

from __future__ import annotations

from typing import Any

import obspython as obs

from ..ingest.vdoninja.settings import VdoSettingsError, link_fields

TEXT_FIELDS = ("vdo_link", "vdo_room", "vdo_password", "vdo_server", "vdo_streams")


def read_room_options(settings: Any) -> dict[str, Any]:
    """The room's fields of `ScriptOptions`, from the script's settings."""
    values: dict[str, Any] = {name: obs.obs_data_get_string(settings, name) or "" for name in TEXT_FIELDS}
    values["vdo_director"] = bool(obs.obs_data_get_bool(settings, "vdo_director"))
    return values


def room_fields(props: Any) -> None:
    """A VDO.Ninja room as a second way in: every guest publishing in it becomes a source."""
    link = obs.obs_properties_add_text(props, "vdo_link", "Link", obs.OBS_TEXT_DEFAULT)
    obs.obs_property_set_long_description(
        link, "Paste a guest, director or view link of the room: room, password, server and "
              "stream ids are filled in from it. Changes to those fields override the link.")
    obs.obs_property_set_modified_callback(link, on_link_changed)
    obs.obs_properties_add_text(props, "vdo_room", "Room", obs.OBS_TEXT_DEFAULT)
    password = obs.obs_properties_add_text(props, "vdo_password", "Password", obs.OBS_TEXT_PASSWORD)
    obs.obs_property_set_long_description(
        password, "Empty: VDO.Ninja's default password. 'false': the room has no password.")
    server = obs.obs_properties_add_text(props, "vdo_server", "Server", obs.OBS_TEXT_DEFAULT)
    obs.obs_property_set_long_description(
        server, "The handshake server. Empty: VDO.Ninja's own (wss://wss.vdo.ninja:443).")
    streams = obs.obs_properties_add_text(props, "vdo_streams", "Streams", obs.OBS_TEXT_DEFAULT)
    obs.obs_property_set_long_description(
        streams, "Only these stream ids, comma separated; empty: everyone who publishes.")
    director = obs.obs_properties_add_bool(props, "vdo_director", "Director mode")
    obs.obs_property_set_long_description(
        director, "Join as the room's director: whenever a guest is recorded here, it is asked "
                  "to record on its own machine too (the file lands in its download folder).")


def on_link_changed(props: Any, prop: Any, settings: Any) -> bool:
    return fill_from_link(settings)


def fill_from_link(settings: Any) -> bool:
    """A newly pasted link fills the fields below it (once per link, so later edits of
    the fields stand). True when the dialog must show the new values."""
    link = (obs.obs_data_get_string(settings, "vdo_link") or "").strip()
    if not link or link == obs.obs_data_get_string(settings, "vdo_link_read"):
        return False
    try:
        fields = link_fields(link)
    except VdoSettingsError:
        return False  # the engine reports the link's problem in the panel
    for name, value in fields.items():
        obs.obs_data_set_string(settings, name, value)
    obs.obs_data_set_string(settings, "vdo_link_read", link)
    return True
