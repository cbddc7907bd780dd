vcl 4.1;
# Varnish in front of PixelEdge, as the CDN tests run it (Tests/cdn/test_varnish.py) and as the README
# shows it. The test writes a copy with the backend's port in place of BACKEND_PORT.

backend pixeledge {
    .host = "127.0.0.1";
    .port = "BACKEND_PORT";
}

acl purgers {
    "127.0.0.1";
}

sub vcl_recv {
    # PURGE with Surrogate-Key: pixel-<id> drops every cached variant of that pixel's bundle (both
    # encodings, both URLs). A ban on an object field is matched lazily by the ban lurker.
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(405, "Not allowed"));
        }
        if (req.http.Surrogate-Key) {
            ban("obj.http.Surrogate-Key ~ (^|\s)" + req.http.Surrogate-Key + "($|\s)");
            return (synth(200, "Banned " + req.http.Surrogate-Key));
        }
        return (purge);
    }
    # The cache keeps two encodings of a bundle: br for clients that accept it, gzip for all others
    # (Varnish gunzips it for the few that take neither). Accept-Encoding is reduced to that choice.
    if (req.http.Accept-Encoding ~ "(^|[\s,])br($|[\s,;])" && req.http.Accept-Encoding !~ "(^|[\s,])br\s*;\s*q=0(\.0*)?($|[\s,])") {
        set req.http.X-PixelEdge-Encoding = "br";
    } else {
        unset req.http.X-PixelEdge-Encoding;
    }
}

sub vcl_hash {
    # The br object is an object of its own: Varnish's gzip handling would otherwise serve one object to all.
    if (req.http.X-PixelEdge-Encoding) {
        hash_data("br");
    }
}

sub vcl_backend_fetch {
    # Varnish asks its backends for gzip; the br object is fetched as br.
    if (bereq.http.X-PixelEdge-Encoding == "br") {
        set bereq.http.Accept-Encoding = "br";
    }
    unset bereq.http.X-PixelEdge-Encoding;
}

sub vcl_backend_response {
    # Keep expired objects with their ETag so that Varnish revalidates with If-None-Match (PixelEdge
    # answers 304) instead of refetching the body. Grace comes from stale-while-revalidate.
    set beresp.keep = 1d;
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    # The keys are for this cache, not for browsers.
    unset resp.http.Surrogate-Key;
    unset resp.http.Cache-Tag;
}
