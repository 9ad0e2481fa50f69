"""A fake Kubernetes API server speaking the real LIST/WATCH protocol.

Enough of the API for a DNS bridge: services, EndpointSlices
(discovery.k8s.io/v1) and v1 Endpoints, cluster-wide.

  LIST   GET <collection>?limit=N[&continue=T]: a consistent snapshot shared by
         all pages (the first page's resourceVersion), items without
         kind/apiVersion, a continue token that expires (410 Gone + Status).
  WATCH  GET <collection>?watch=1&resourceVersion=RV&allowWatchBookmarks=true
         &timeoutSeconds=T: HTTP/1.1 200, chunked, one JSON event per line,
         events newer than RV; BOOKMARK events while idle; an RV older than the
         compacted history gets an ERROR 410 "Expired" event inside the 200
         stream, as the real API server sends it. State.stall(res) makes the
         open watches of res go silent (connection open, nothing sent).
  Auth   optional bearer token (401 + Status otherwise); optional TLS.

Run in-process by the integration tests (FakeAPI(...).start()), or standalone:
  python3 fakeapi.py --port 6443 [--token T] [--cert C --key K] [fixtures/*.json]
"""

import base64
import copy
import json
import os
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")

RESOURCES = {
    "/api/v1/services": ("services", "Service", "v1", "ServiceList"),
    "/api/v1/endpoints": ("endpoints", "Endpoints", "v1", "EndpointsList"),
    "/apis/discovery.k8s.io/v1/endpointslices":
        ("endpointslices", "EndpointSlice", "discovery.k8s.io/v1", "EndpointSliceList"),
}
KIND_TO_RES = {v[1]: v[0] for v in RESOURCES.values()}
RES_INFO = {v[0]: v for v in RESOURCES.values()}


def load_fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class State:
    """Objects, the resourceVersion counter and the event history."""

    def __init__(self):
        self.cond = threading.Condition()
        self.rv = 1000
        self.objects = {r: {} for r in RES_INFO}      # res -> (ns, name) -> obj
        self.history = []                               # (rv, res, type, obj)
        self.compacted = 1000                           # watches from RV < this get 410
        self.expire_gen = 0                             # bump: open watches get ERROR 410
        self.frozen = False                             # open watches deliver nothing
        self.stall_gen = {r: 0 for r in RES_INFO}       # bump: res's open watches go silent
        self.snapshots = {}                             # continue token -> (rv, res, items, time)
        self.serve_slices = True                        # False: 404 (pre-1.21), "forbidden": 403 (RBAC)
        self.page_cap = None                            # server-side limit on page size
        self.list_delay = 0.0                           # seconds each LIST page waits first
        self.continue_ttl = 300.0
        self.bookmark_interval = 1.0

    # -- mutations (thread-safe) --------------------------------------
    def _event(self, res, typ, obj):
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.history.append((self.rv, res, typ, copy.deepcopy(obj)))
        self.cond.notify_all()

    def apply(self, obj):
        """Create or update (kind decides the collection)."""
        obj = copy.deepcopy(obj)
        res = KIND_TO_RES[obj["kind"]]
        md = obj["metadata"]
        key = (md["namespace"], md["name"])
        with self.cond:
            typ = "MODIFIED" if key in self.objects[res] else "ADDED"
            self._event(res, typ, obj)
            self.objects[res][key] = obj
            return obj["metadata"]["resourceVersion"]

    def delete(self, kind, ns, name):
        res = KIND_TO_RES[kind]
        with self.cond:
            obj = self.objects[res].pop((ns, name))
            self._event(res, "DELETED", obj)

    def stall(self, res):
        """The watches of res open now stall mid-stream, as behind a hung
        proxy or a half-open connection: the TCP connection stays open and
        nothing more is sent, no event and no bookmark. Watches opened
        later are served normally."""
        with self.cond:
            self.stall_gen[res] += 1
            self.cond.notify_all()

    def expire(self, hidden_changes=None):
        """Compact the history and end every open watch with ERROR 410.
        hidden_changes() runs first while watches are frozen, so its events
        are never delivered: only a relist can notice them."""
        with self.cond:
            self.frozen = True
        try:
            if hidden_changes:
                hidden_changes()
        finally:
            with self.cond:
                self.compacted = self.rv + 1
                self.expire_gen += 1
                self.frozen = False
                self.cond.notify_all()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver/1.31"

    def log_message(self, fmt, *args):  # keep test output quiet
        if self.server.api.verbose:
            sys.stderr.write("fakeapi: " + fmt % args + "\n")

    def send_json(self, code, body):
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        api = self.server.api
        api.requests.append(self.path)
        if api.token is not None:
            if self.headers.get("Authorization") != "Bearer " + api.token:
                api.auth_failures += 1
                return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        info = RESOURCES.get(url.path)
        if info and info[0] == "endpointslices" and api.state.serve_slices == "forbidden":
            return self.send_json(403, status(
                403, "Forbidden", 'endpointslices.discovery.k8s.io is forbidden: User '
                '"system:serviceaccount:kube-system:kube2sky" cannot list resource "endpointslices" '
                'in API group "discovery.k8s.io" at the cluster scope'))
        if info is None or (info[0] == "endpointslices" and not api.state.serve_slices):
            raw = b"404 page not found\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
            return
        if q.get("watch") in ("1", "true"):
            return self.watch(info, q)
        return self.list(info, q)

    # -- LIST ------------------------------------------------------------
    def list(self, info, q):
        st = self.server.api.state
        res, kind, api_version, list_kind = info
        limit = int(q.get("limit") or 0)
        if st.page_cap:
            limit = min(limit or st.page_cap, st.page_cap)
        if st.list_delay:
            time.sleep(st.list_delay)
        with st.cond:
            token = q.get("continue")
            if token:
                snap = st.snapshots.get(token)
                if snap is None or time.monotonic() - snap[3] > st.continue_ttl:
                    return self.send_json(410, status(
                        410, "Expired",
                        "The provided continue parameter is too old to display a consistent "
                        "list result. You can start a new list without the continue parameter."))
                rv, _, items, _ = snap
                offset = int(json.loads(base64.b64decode(token))["start"])
            else:
                rv = st.rv
                items = [copy.deepcopy(o) for _, o in sorted(st.objects[res].items())]
                offset = 0
            page = items[offset:offset + limit] if limit else items[offset:]
            body = {"kind": list_kind, "apiVersion": api_version,
                    "metadata": {"resourceVersion": str(rv)}, "items": []}
            for o in page:
                o = dict(o)
                o.pop("kind", None)
                o.pop("apiVersion", None)
                body["items"].append(o)
            nxt = offset + len(page)
            if limit and nxt < len(items):
                tok = base64.b64encode(json.dumps({"rv": rv, "start": nxt, "n": len(st.snapshots)})
                                       .encode()).decode()
                st.snapshots[tok] = (rv, res, items, time.monotonic())
                body["metadata"]["continue"] = tok
                body["metadata"]["remainingItemCount"] = len(items) - nxt
        self.send_json(200, body)

    # -- WATCH -----------------------------------------------------------
    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def event(self, typ, obj):
        self.chunk(json.dumps({"type": typ, "object": obj}).encode() + b"\n")
        self.last_rv = obj.get("metadata", {}).get("resourceVersion") or self.last_rv
        self.sent[typ] = self.sent.get(typ, 0) + 1

    def watch(self, info, q):
        api = self.server.api
        st = api.state
        res, kind, api_version, _ = info
        rv = q.get("resourceVersion") or "0"
        timeout = float(q.get("timeoutSeconds") or 1800)
        bookmarks = q.get("allowWatchBookmarks") == "true"
        self.res, self.last_rv, self.sent, self.stalled = res, rv, {}, False
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        api.watchers.add(self)
        try:
            if self._watch_loop(st, res, kind, api_version, rv, timeout, bookmarks) != "stalled":
                self.chunk(b"")  # end of the chunked body: a normal watch end
        except (OSError, ValueError):
            pass
        finally:
            api.watchers.discard(self)
        self.close_connection = True

    def _watch_loop(self, st, res, kind, api_version, rv, timeout, bookmarks):
        api = self.server.api
        deadline = time.monotonic() + timeout
        err = None
        with st.cond:
            gen = st.expire_gen
            stall = st.stall_gen[res]
            if rv == "0":  # "any": current state as ADDED, then changes
                sent = st.rv
                initial = [copy.deepcopy(o) for _, o in sorted(st.objects[res].items())]
            else:
                sent = int(rv)
                initial = []
                if sent < st.compacted - 1:
                    err = status(410, "Expired", "too old resource version: %d (%d)" % (sent, st.rv))
                elif sent > st.rv:
                    err = status(500, "InternalError", "resource version %d is from the future" % sent)
        if err:
            self.event("ERROR", err)
            return
        for o in initial:
            self.event("ADDED", o)
        last_write = time.monotonic()
        while not api.stopping:
            now = time.monotonic()
            if now >= deadline:
                return
            with st.cond:
                stalled = st.stall_gen[res] != stall
            if stalled:
                return self._stalled(deadline)
            with st.cond:
                if st.expire_gen != gen:
                    pending = [("ERROR", status(410, "Expired", "too old resource version: %d (%d)"
                                                % (sent, st.rv)))]
                elif st.frozen:
                    pending = []
                else:
                    pending = [(t, o) for (r, rs, t, o) in st.history if r > sent and rs == res]
                    if st.history:
                        sent = max(sent, st.history[-1][0])
                if not pending and not st.frozen:
                    wait = min(deadline - now, st.bookmark_interval)
                    if bookmarks and now - last_write >= st.bookmark_interval:
                        bm = {"kind": kind, "apiVersion": api_version,
                              "metadata": {"resourceVersion": str(st.rv)}}
                        pending = [("BOOKMARK", bm)]
                        sent = max(sent, st.rv)
                    else:
                        st.cond.wait(max(0.01, min(wait, 0.2)))
                        continue
            if not pending:
                time.sleep(0.05)
                continue
            for typ, o in pending:
                self.event(typ, o)
                if typ == "ERROR":
                    return
            last_write = time.monotonic()

    def _stalled(self, deadline):
        """Send nothing until the client hangs up (counted in
        api.stalled_dropped), the server stops or the watch times out."""
        api = self.server.api
        self.stalled = True
        while not api.stopping and time.monotonic() < deadline:
            try:
                if select.select([self.connection], [], [], 0.1)[0] and not self.connection.recv(1):
                    break
            except (OSError, ValueError):
                break
        else:
            return "stalled"
        with api.lock:
            api.stalled_dropped += 1
        return "stalled"

    def kill(self):
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class FakeAPI:
    """An API server on 127.0.0.1:port; state survives stop()/start()."""

    def __init__(self, port=0, token=None, certfile=None, keyfile=None, state=None, verbose=False,
                 client_ca=None):
        self.port = port
        self.client_ca = client_ca  # when set, TLS clients must present a certificate it signed
        self.token = token
        self.certfile, self.keyfile = certfile, keyfile
        self.state = state or State()
        self.verbose = verbose
        self.httpd = None
        self.thread = None
        self.watchers = set()
        self.requests = []
        self.auth_failures = 0
        self.stalled_dropped = 0   # stalled watches the client closed
        self.lock = threading.Lock()
        self.stopping = False

    @property
    def url(self):
        scheme = "https" if self.certfile else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self):
        self.stopping = False
        httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        httpd.daemon_threads = True
        httpd.api = self
        if self.certfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.certfile, self.keyfile)
            if self.client_ca:
                ctx.load_verify_locations(self.client_ca)
                ctx.verify_mode = ssl.CERT_REQUIRED
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        self.port = httpd.server_address[1]
        self.httpd = httpd
        self.thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        """Close the listener and every open watch (like a crashed server)."""
        if not self.httpd:
            return
        self.stopping = True
        with self.state.cond:
            self.state.cond.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()
        for w in list(self.watchers):
            w.kill()
        self.thread.join(5)
        self.httpd = None

    def restart(self, lose_history=True):
        """Stop and start on the same port. A new server's watch cache does
        not reach back: old resourceVersions get 410 when lose_history."""
        self.stop()
        if lose_history:
            with self.state.cond:
                self.state.compacted = self.state.rv + 1
        return self.start()


def main(argv):
    import argparse
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=6443)
    p.add_argument("--token")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("fixtures", nargs="*")
    a = p.parse_args(argv)
    api = FakeAPI(a.port, a.token, a.cert, a.key, verbose=True)
    for f in a.fixtures:
        with open(f) as fh:
            api.state.apply(json.load(fh))
    api.start()
    print("serving on", api.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        api.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
