"""The ICE servers setting, TURN REST credentials, and how the server hands them out."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from guestrec.cli.commands import main as cli_main
from guestrec.obs_bridge.controller import ScriptOptions, engine_settings
from guestrec.obs_bridge.status import guest_status_text
from guestrec.webrtc import turn_rest
from guestrec.webrtc.ice import DEFAULT_ENV, IceConfigError, IceSettings, read_ice_servers_arg
from guestrec.webrtc.ice_status import PAIR_DIRECT, PAIR_RELAY, PAIR_STUN, candidate_types, pair_kind
from support.guest_server import running_server
from support.whip_client import WhipClient, post_raw

SECRET = "rig-secret-5f2c"
TURN = ('[{"urls": ["stun:t.example:3478"]}, '
        '{"urls": ["turn:t.example:3478?transport=udp", "turn:t.example:3478?transport=tcp"]}]')


@pytest.mark.parametrize(("text", "message"), [
    ("{", "not valid JSON (line 1 column 2"),
    ('{"urls": "stun:x"}', "expected a JSON list"),
    ('["stun:x"]', "ICE server 1: each ICE server must be an object"),
    ('[{"url": "stun:x"}]', "ICE server 1: unknown key(s) url"),
    ('[{"urls": []}]', "non-empty list"),
    ('[{"urls": "stun:a"}, {"urls": "http://x"}]', "ICE server 2: 'http://x' is not a STUN/TURN URL"),
    ('[{"urls": "stun:x?transport=udp"}]', "a STUN URL takes no ?transport="),
    ('[{"urls": "turn:x:70000", "username": "u", "credential": "c"}]', "port 70000"),
    ('[{"urls": "turn:x"}]', 'needs "username" and "credential", or a TURN shared secret'),
    ('[{"urls": "turn:x", "username": "u", "credential": "c", "credentialType": "oauth"}]',
     'only credentialType "password"'),
    ('[{"urls": "turn:x", "username": 5, "credential": "c"}]', '"username" must be a string'),
])
def test_bad_settings_get_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(IceConfigError) as caught:
        IceSettings.from_text(text)
    assert message in str(caught.value)


def test_default_is_one_public_stun_server_and_empty_list_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEFAULT_ENV, raising=False)
    default = IceSettings.from_text("")
    assert default.for_client("x") == [{"urls": ["stun:stun.l.google.com:19302"]}]
    assert [s.urls for s in default.for_studio().servers] == [["stun:stun.l.google.com:19302"]]
    off = IceSettings.from_text("[]")
    assert off.for_client("x") == [] and off.for_studio().servers == [] and off.link_headers("x") == []
    monkeypatch.setenv(DEFAULT_ENV, '[{"urls": "stun:own.example"}]')
    assert IceSettings.from_text("  ").for_client("x") == [{"urls": ["stun:own.example"]}]
    # A provider's response object is taken as is.
    wrapped = IceSettings.from_text('{"iceServers": [{"urls": "stun:a.example"}], "ttl": 86400}')
    assert wrapped.for_client("x") == [{"urls": ["stun:a.example"]}]


def test_studio_takes_the_first_usable_stun_and_turn_and_says_what_it_left() -> None:
    ice = IceSettings.from_text(json.dumps([
        {"urls": ["stuns:s.example", "stun:[2001:db8::1]:3478", "stun:a.example", "stun:b.example"]},
        {"urls": ["turns:t.example?transport=udp", "turn:t.example?transport=udp", "turns:t.example:443"],
         "username": "u", "credential": "p"},
    ]))
    studio = ice.for_studio()
    assert [(s.urls, s.username, s.credential) for s in studio.servers] == [
        (["stun:a.example"], None, None), (["turn:t.example?transport=udp"], "u", "p")]
    assert studio.notes == [
        "stuns:s.example not used by the studio: aiortc has no stuns:",
        "stun:[2001:db8::1]:3478 not used by the studio: aiortc takes no IPv6 address in an ICE URL",
        "stun:b.example not used by the studio: aiortc uses only one STUN address",
        "turns:t.example?transport=udp not used by the studio: aiortc has no TURN over DTLS",
        "turns:t.example:443 not used by the studio: aiortc uses only one TURN address",
    ]
    # Browsers get everything.
    assert len(ice.for_client("g")[0]["urls"]) == 4


def test_turn_rest_credentials_follow_coturns_scheme() -> None:
    minted = turn_rest.mint(SECRET, "Zoë: the host!", ttl_s=3600, now=1_800_000_000)
    assert minted.username == "1800003600:Zo-the-host"  # nothing coturn would split on
    expected = base64.b64encode(hmac.new(SECRET.encode(), minted.username.encode(), hashlib.sha1).digest())
    assert minted.password == expected.decode() and minted.expires == 1_800_003_600
    with pytest.raises(ValueError):
        turn_rest.mint("", "x")


def test_secret_mints_per_guest_credentials_and_never_leaves() -> None:
    ice = IceSettings.from_text(TURN, turn_secret=SECRET)
    servers = ice.for_client("Alice", now=1_800_000_000)
    assert servers[0] == {"urls": ["stun:t.example:3478"]}
    assert servers[1]["username"] == f"{1_800_000_000 + turn_rest.DEFAULT_TTL_S}:Alice"
    studio = ice.for_studio(now=1_800_000_000).servers[1]
    assert studio.username.endswith(":studio") and studio.credential != servers[1]["credential"]
    text = json.dumps(servers) + "".join(ice.link_headers("Alice")) + ice.describe()
    assert SECRET not in text
    # Static credentials in the setting are replaced by minted ones when a secret is set.
    static = IceSettings.from_text('[{"urls": "turn:x", "username": "u", "credential": "static"}]', SECRET)
    assert "static" not in json.dumps(static.for_client("a"))


def test_link_headers_follow_rfc_9725() -> None:
    ice = IceSettings.from_text('[{"urls": "stun:s.example"}, {"urls": ["turn:t.example?transport=tcp"], '
                                '"username": "a\\"b", "credential": "p/w+="}]')
    assert ice.link_headers("g") == [
        '<stun:s.example>; rel="ice-server"',
        ('<turn:t.example?transport=tcp>; rel="ice-server"; username="a\\"b"; credential="p/w+="; '
         'credential-type="password"'),
    ]


def test_candidate_types_and_pair_kinds() -> None:
    sdp = "\r\n".join([
        "a=candidate:1 1 udp 2130706431 10.0.0.2 5000 typ host",
        "a=candidate:2 1 UDP 1694498815 198.51.100.3 5000 typ srflx raddr 10.0.0.2 rport 5000",
        "a=candidate:3 1 tcp 1518280447 abc.local 9 typ host tcptype active",
        "a=candidate:4 1 udp 16777215 198.51.100.10 6000 typ relay raddr 0.0.0.0 rport 0",
    ])
    assert candidate_types(sdp) == ["host", "mdns/tcp", "srflx", "relay"]  # abc.local: an mDNS name
    assert pair_kind("host", "host") == PAIR_DIRECT
    assert pair_kind("host", "srflx") == pair_kind("prflx", "host") == PAIR_STUN
    assert pair_kind("relay", "srflx") == pair_kind("host", "relay") == PAIR_RELAY
    text = guest_status_text({"connected": True, "ice_pair": PAIR_RELAY})
    assert text == "live, not recording; via TURN relay"  # the path closes the reception figures


def test_ice_servers_file_argument(tmp_path: Path) -> None:
    path = tmp_path / "ice.json"
    path.write_text(TURN)
    assert read_ice_servers_arg(f"@{path}") == TURN
    with pytest.raises(IceConfigError, match="cannot read"):
        read_ice_servers_arg(f"@{tmp_path / 'missing.json'}")


def test_serve_refuses_bad_ice_servers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = cli_main(["serve", "--out", str(tmp_path), "--ice-servers", '[{"urls": "turn:x"}]'])
    assert code == 2
    assert 'a TURN server needs "username" and "credential"' in capsys.readouterr().err


def test_obs_options_carry_ice_turn_secret_and_certificate(tmp_path: Path) -> None:
    opts = ScriptOptions(ice_servers=TURN, turn_secret=f" {SECRET} ", cert_file="/c.pem", key_file="/k.pem")
    settings, _ = engine_settings(opts, tmp_path)
    assert settings.ice().turn_secret == SECRET and settings.cert == Path("/c.pem")
    with pytest.raises(ValueError, match="go together"):
        engine_settings(ScriptOptions(cert_file="/c.pem"), tmp_path)
    with pytest.raises(IceConfigError, match="not valid JSON"):
        engine_settings(ScriptOptions(ice_servers="[{"), tmp_path)


def test_server_hands_ice_servers_to_page_and_whip_clients(tmp_path: Path) -> None:
    """GET /api/ice-servers (token needed) and the 201's Link headers carry minted TURN
    credentials; the unauthenticated OPTIONS preflight carries none."""

    async def scenario() -> None:
        async with running_server(tmp_path) as server:
            server.config.ice = IceSettings.from_text(TURN, SECRET)
            api = f"{server.base}/api/ice-servers?name=Alice"
            status, body, _ = await post_raw(api, None, method="GET")
            assert status == 401
            auth = {"Authorization": f"Bearer {server.token}"}
            status, body, _ = await post_raw(api, None, auth, method="GET")
            assert status == 200 and SECRET not in body
            servers = json.loads(body)["iceServers"]
            assert servers[1]["username"].endswith(":Alice")
            async with WhipClient(server.whip_url("Alice"), server.token) as guest:
                await guest.publish()
                links = guest.headers.getall("Link")
            assert len(links) == 3 and all('rel="ice-server"' in link for link in links)
            assert all('username="' in link for link in links[1:]) and SECRET not in "".join(links)
            status, _, headers = await post_raw(server.whip_url("Bob"), None, method="OPTIONS")
            assert status == 204 and "Link" not in headers

    asyncio.run(asyncio.wait_for(scenario(), 60))
