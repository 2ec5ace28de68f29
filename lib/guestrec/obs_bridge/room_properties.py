"""The script's properties for a VDO.Ninja room (a group in the script's dialog), and
reading them back. `obs` is the obspython module, handed in by the script."""

from __future__ import annotations

from typing import Any

from ..ingest.vdoninja.settings import VdoSettingsError, link_fields

TEXT_FIELDS = ("vdo_link", "vdo_room", "vdo_password", "vdo_server", "vdo_streams")


def read_room_options(obs: Any, settings: Any) -> dict[str, Any]:
    """The room's fields of `ScriptOptions`, from the script's settings."""
    values: dict[str, Any] = {name: obs.obs_data_get_string(settings, name) or "" for name in TEXT_FIELDS}
    values["vdo_director"] = bool(obs.obs_data_get_bool(settings, "vdo_director"))
    return values


def add_room_properties(obs: Any, props: Any, on_link_changed: Any) -> None:
    """A VDO.Ninja room as a second way in: every guest publishing in it becomes a source."""
    group = obs.obs_properties_create()
    link = obs.obs_properties_add_text(group, "vdo_link", "VDO.Ninja link", obs.OBS_TEXT_DEFAULT)
    obs.obs_property_set_long_description(
        link, "Paste a guest, director or view link of the room: room, password, server and "
              "stream ids are filled in from it. Changes to those fields override the link.")
    obs.obs_property_set_modified_callback(link, on_link_changed)  # the script's: fill_from_link
    obs.obs_properties_add_text(group, "vdo_room", "Room", obs.OBS_TEXT_DEFAULT)
    password = obs.obs_properties_add_text(group, "vdo_password", "Room password", obs.OBS_TEXT_PASSWORD)
    obs.obs_property_set_long_description(
        password, "Empty: VDO.Ninja's default password. 'false': the room has no password.")
    server = obs.obs_properties_add_text(group, "vdo_server", "Handshake server", obs.OBS_TEXT_DEFAULT)
    obs.obs_property_set_long_description(server, "Empty: VDO.Ninja's own (wss://wss.vdo.ninja:443).")
    streams = obs.obs_properties_add_text(group, "vdo_streams", "Only these stream ids", obs.OBS_TEXT_DEFAULT)
    obs.obs_property_set_long_description(streams, "Comma separated; empty: everyone who publishes.")
    director = obs.obs_properties_add_bool(group, "vdo_director", "Director: guests also record on their own machine")
    obs.obs_property_set_long_description(
        director, "Whenever a guest is recorded here, ask it to record locally too (VDO.Ninja's "
                  "remote record); the file lands in the guest's download folder.")
    obs.obs_properties_add_group(props, "vdo_group", "VDO.Ninja room", obs.OBS_GROUP_NORMAL, group)


def fill_from_link(obs: Any, settings: Any) -> bool:
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
