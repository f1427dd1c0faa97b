#!/usr/bin/env python3
"""Drives a running 3-agent cluster through the HTTP API, as a script would:
Python's urllib for the JSON routes, curl for the event stream.

Usage: http_api_check.py CHORUS_BINARY N1_URL N1_RPC TOKEN N3_URL OLD_KEY NEW_KEY
n1 needs TOKEN (its rpc_auth); n3 has no token and answers `query:ping`.
Exits 0 when every check passed; prints what failed otherwise.
"""
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

chorus, n1, n1_rpc, token, n3, old_key, new_key = sys.argv[1:8]
AUTH = {"Authorization": "Bearer " + token}


def call(url, method="GET", body=None, headers=AUTH, timeout=10):
    """(status, headers, parsed JSON body or raw text)."""
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, hdrs, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, hdrs, raw = e.code, e.headers, e.read()
    text = raw.decode("utf-8", "replace")
    if hdrs.get("Content-Type", "").startswith("application/json"):
        return status, hdrs, json.loads(text)
    return status, hdrs, text


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


def names(body):
    return [m["name"] for m in body["members"]]


# Health needs no token; everything else does.
st, _, body = call(n1 + "/v1/health", headers={})
check(st == 200 and body["status"] == "ok" and body["node"] == "n1", f"health: {st} {body}")
st, hdrs, body = call(n1 + "/v1/members", headers={})
check(st == 401 and "error" in body and hdrs.get("WWW-Authenticate") == "Bearer", f"no token: {st} {body}")
st, _, body = call(n1 + "/v1/members", headers={"Authorization": "Bearer wrong"})
check(st == 401, f"wrong token: {st}")
st, _, body = call(n1 + "/v1/members", headers={"X-Chorus-Token": token})
check(st == 200, f"X-Chorus-Token: {st}")

# Wait (bounded) until n1 sees the three members alive.
deadline = time.time() + 10
while True:
    st, _, body = call(n1 + "/v1/members?status=alive")
    if st == 200 and sorted(names(body)) == ["n1", "n2", "n3"]:
        break
    check(time.time() < deadline, f"cluster did not form: {body}")
    time.sleep(0.2)

# The same JSON as `chorus members -format json`, filters included.
cli = subprocess.run([chorus, "members", "-format", "json", "-tag", "region=sin", "-rpc-addr", n1_rpc,
                      "-rpc-auth", token], capture_output=True, text=True, timeout=10)
st, _, body = call(n1 + "/v1/members?tag=region%3Dsin")
check(st == 200 and body == json.loads(cli.stdout), f"members vs CLI: {body} vs {cli.stdout}")
check(sorted(names(body)) == ["n1", "n3"], f"tag filter: {names(body)}")
st, _, body = call(n1 + "/v1/members?name=n%5B12%5D")
check(sorted(names(body)) == ["n1", "n2"], f"name regex: {body}")
st, _, body = call(n1 + "/v1/members?name=%28")
check(st == 400 and "error" in body, f"bad regex: {st} {body}")
st, _, body = call(n1 + "/v1/members?tag=region")
check(st == 400, f"bad tag filter: {st}")

# near: sorted by estimated RTT, the node itself first. Coordinates come
# with the first probes: wait (bounded) until n1 has every member's.
deadline = time.time() + 10
while True:
    st, _, body = call(n1 + "/v1/members?near=n2")
    if st == 200 and all(m["estimated_rtt_ms"] is not None for m in body["members"]):
        break
    check(time.time() < deadline, f"coordinates not known: {st} {body}")
    time.sleep(0.2)
rtts = [m["estimated_rtt_ms"] for m in body["members"]]
check(st == 200 and names(body)[0] == "n2" and rtts == sorted(rtts), f"near: {body}")
check(all("coordinate" in m for m in body["members"]), "near: coordinates")
st, _, body = call(n1 + "/v1/members?near=nobody")
check(st == 404 and "nobody" in body["error"], f"near unknown: {st} {body}")

# rtt and coordinate.
st, _, body = call(n1 + "/v1/rtt?a=n2&b=n3")
check(st == 200 and body["estimated_rtt_ms"] > 0 and body["a"] == "n2", f"rtt: {st} {body}")
st, _, body = call(n1 + "/v1/rtt?a=n2")
check(st == 200 and body["b"] == "n1", f"rtt default b: {body}")
st, _, body = call(n1 + "/v1/rtt")
check(st == 400, f"rtt without a: {st}")
st, _, body = call(n1 + "/v1/rtt?a=ghost")
check(st == 404, f"rtt unknown: {st}")
st, _, body = call(n1 + "/v1/coordinate")
check(st == 200 and body["node"] == "n1" and len(body["coordinate"]["vec"]) == 8, f"coordinate: {body}")
st, _, body = call(n1 + "/v1/coordinate?node=n3")
check(st == 200 and body["node"] == "n3", f"coordinate n3: {body}")

# The event stream, followed with curl while events happen.
stream = subprocess.Popen(["curl", "-sN", "--max-time", "2", "-H", "Authorization: Bearer " + token,
                           n1 + "/v1/events?type=member-update,user:deploy"], stdout=subprocess.PIPE, text=True)
first = stream.stdout.readline()  # the subscription comment: events from here on are seen
check(first.startswith(": chorus events"), f"stream start: {first!r}")
st, _, body = call(n1 + "/v1/event/other", "POST", "not for this stream")
check(st == 200, f"event other: {st} {body}")
st, _, body = call(n1 + "/v1/event/deploy?coalesce=false", "POST", "v42")
check(st == 200 and body == {"event": "deploy", "payload_bytes": 3, "coalesce": False}, f"event: {st} {body}")
st, _, body = call(n1 + "/v1/tags", "PUT", json.dumps({"tags": {"role": "web"}, "delete": ["region"]}))
check(st == 200 and body == {"tags": {"role": "web"}}, f"tags: {st} {body}")
out = stream.communicate(timeout=10)[0]
check("event: user\ndata: " in out and '"payload":"v42"' in out, f"stream user event: {out!r}")
check("event: member-update\n" in out and '"role":"web"' in out, f"stream member-update: {out!r}")
check('"other"' not in out, f"stream filter: {out!r}")

st, _, body = call(n1 + "/v1/event/big", "POST", "x" * 600)
check(st == 413 and "limit" in body["error"], f"event too large: {st} {body}")
st, _, body = call(n1 + "/v1/event/x?coalesce=maybe", "POST", "")
check(st == 400, f"bad coalesce: {st}")
st, _, body = call(n1 + "/v1/tags", "PUT", "{not json")
check(st == 400 and "error" in body, f"bad tags body: {st}")
st, _, body = call(n1 + "/v1/members?name=n1")
check(body["members"][0]["tags"] == {"role": "web"}, f"tags applied: {body}")

# Queries: collected at the end, or streamed as JSON lines.
st, _, body = call(n1 + "/v1/query/ping?timeout=1s&ack=true", "POST", "hello")
check(st == 200 and sorted(body["acks"]) == ["n1", "n2", "n3"], f"query acks: {st} {body}")
check([r["from"] for r in body["responses"]] == ["n3"] and body["responses"][0]["payload"] == "pong-n3\n",
      f"query responses: {body}")
st, _, text = call(n1 + "/v1/query/ping?timeout=1s&node=n3&stream=true", "POST", "")
lines = [json.loads(l) for l in text.splitlines()]
check(st == 200 and lines[-1] == {"type": "done"} and {"type": "response", "from": "n3", "payload": "pong-n3\n",
      "payload_base64": "cG9uZy1uMwo="} in lines, f"query stream: {lines}")
check(all(l.get("from") in (None, "n3") for l in lines), f"query node filter: {lines}")
st, _, body = call(n1 + "/v1/query/ping?timeout=soon", "POST", "")
check(st == 400 and "timeout" in body["error"], f"bad timeout: {st} {body}")

# Keyring: list, install, use, remove, across the cluster.
st, _, body = call(n1 + "/v1/keyring")
check(st == 200 and body["keys"] == {old_key: 3} and body["num_nodes"] == 3, f"keyring list: {st} {body}")
for op, key in (("install", new_key), ("use", new_key), ("remove", old_key)):
    st, _, body = call(n1 + "/v1/keyring/" + op, "POST", json.dumps({"key": key}))
    check(st == 200 and body["num_err"] == 0, f"keyring {op}: {st} {body}")
st, _, body = call(n1 + "/v1/keyring")
check(body["keys"] == {new_key: 3}, f"keyring after rotation: {body}")
st, _, body = call(n1 + "/v1/keyring/install", "POST", json.dumps({"key": "***"}))
check(st == 400, f"keyring bad key: {st} {body}")

# Errors: JSON, with the right status.
st, _, body = call(n1 + "/v1/nope")
check(st == 404 and "error" in body, f"404: {st} {body}")
st, hdrs, body = call(n1 + "/v1/members", "DELETE")
check(st == 405 and hdrs.get("Allow") == "GET, HEAD", f"405: {st} {hdrs}")
st, _, text = call(n1 + "/metrics")
check(st == 200 and "chorus_http_requests_total" in text, "metrics on the API")

# Join (n2 again: already a member, one node answers), force-leave, leave.
st, _, body = call(n1 + "/v1/join", "POST", json.dumps({"addrs": [n1.split("//")[1].rsplit(".", 1)[0] + ".2"]}))
check(st == 200 and body == {"joined": 1}, f"join: {st} {body}")
st, _, body = call(n1 + "/v1/join", "POST", "")
check(st == 400, f"join without address: {st}")
st, _, body = call(n3 + "/v1/leave", "POST", "", headers={})
check(st == 200 and body == {"left": True}, f"leave: {st} {body}")
deadline = time.time() + 10
while True:
    st, _, body = call(n1 + "/v1/members?name=n3")
    if body["members"] and body["members"][0]["status"] == "left":
        break
    check(time.time() < deadline, f"n3 not seen left: {body}")
    time.sleep(0.2)
st, _, body = call(n1 + "/v1/force-leave/n3?prune=true", "POST", "")
check(st == 200, f"force-leave: {st} {body}")
print("ok")
