vcl 4.1;
# Varnish in front of `products` in cache mode: responses are kept as long as the origin's
# shared-cache lifetime says (CDN-Cache-Control, RFC 9213) and dropped as soon as a write
# changes one of their cache groups (RFC 9875), whether the write passes through this
# Varnish or reaches another process directly (which then sends PURGE). Clients still
# revalidate every time (the origin's `Cache-Control: no-cache`), and Varnish answers
# their If-None-Match with 304 from its copy: no origin request.
#
# Needs Debian's varnish and varnish-modules (the xkey vmod), and Varnish's own gzip off,
# so that each coding the origin makes is stored as it is, under its own strong ETag
# (Varnish would otherwise ask for gzip only and gunzip for other clients):
#
#   products --listen 127.0.0.1:3001 --shared-max-age 86400 --purge-url http://127.0.0.1:6081/
#   varnishd -F -n "$PWD/varnish" -a 127.0.0.1:6081 -f "$PWD/deploy/varnish/default.vcl" \
#            -p http_gzip_support=off -s malloc,256m
#
# The tests (examples/tests/varnish.rs) put their own backend port on the `.port` line.

import std;
import xkey;

backend default {
    .host = "127.0.0.1";
    .port = "3001";
    # A read that waits for a change (`Prefer: wait`) is answered after up to the origin's
    # --max-wait (60 s by default): wait longer than that for its first byte.
    .first_byte_timeout = 75s;
}

# Who may send PURGE: the origin processes, on this machine.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    # The origin's purge hook: `PURGE /` with the groups, space-separated, in xkey-purge.
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Forbidden"));
        }
        if (!req.http.xkey-purge) {
            return (synth(400, "Name the cache groups in xkey-purge"));
        }
        set req.http.n-gone = xkey.purge(req.http.xkey-purge);
        return (synth(200, "Invalidated " + req.http.n-gone + " objects"));
    }
    # Writes go to the origin (and invalidate on the way back, below).
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # Per-user responses are never shared.
    if (req.http.Authorization || req.http.Cookie) {
        return (pass);
    }
    # A read that waits for a change must reach the origin, which holds it; its copy
    # would answer the 304 at once.
    if (req.http.Prefer ~ "(?i)(^|[,;\s])wait\s*=") {
        return (pass);
    }
    return (hash);
}

sub vcl_backend_response {
    # Writes are not stored; what they invalidate is done in vcl_deliver, the client
    # side, where the xkey vmod may purge.
    if (bereq.method != "GET" && bereq.method != "HEAD") {
        return (deliver);
    }
    # Stored only when the origin gave a shared lifetime and the groups that end it, and
    # did not make the response private.
    if (beresp.http.CDN-Cache-Control ~ "(^|,)\s*max-age=[0-9]+"
        && beresp.http.Cache-Groups
        && beresp.http.Cache-Control !~ "(?i)(private|no-store)") {
        # The groups, as the xkey vmod indexes them.
        set beresp.http.xkey = regsuball(beresp.http.Cache-Groups, {"[",\s]+"}, " ");
        set beresp.ttl = std.duration(
            regsub(beresp.http.CDN-Cache-Control, "^.*max-age=([0-9]+).*$", "\1") + "s", 0s);
        # Never served stale: an invalidated response is gone, not kept for grace.
        set beresp.grace = 0s;
        return (deliver);
    }
    # Anything else (errors, per-user, routes without groups) goes to the origin each time.
    set beresp.ttl = 1s;
    set beresp.uncacheable = true;
    return (deliver);
}

sub vcl_deliver {
    # RFC 9875 section 3: the response to an unsafe request names the groups it made
    # stale. They are dropped here, before the response goes on to the client, so that
    # its next read is fresh. The origin writes each group as a String without quotes,
    # commas, spaces or backslashes, so removing the List's punctuation leaves the names.
    if (req.method != "GET" && req.method != "HEAD"
        && resp.status >= 200 && resp.status < 300
        && resp.http.Cache-Group-Invalidation) {
        std.log("cache groups invalidated: " + xkey.purge(
            regsuball(resp.http.Cache-Group-Invalidation, {"[",\s]+"}, " ")));
    }
    # The index is Varnish's own business.
    unset resp.http.xkey;
}
