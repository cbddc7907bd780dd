import NIOCore
import NIOHTTP1
import PixelEdgeCore

/// Which request heads cannot be read safely, as RFC 9112 asks, and the answer each gets (it always
/// closes the connection): a transfer coding other than `chunked` is a 501, since its body's framing is
/// unknown and nothing after it can be trusted; `Transfer-Encoding` in HTTP/1.0 and an HTTP/1.1 request
/// without exactly one `Host` are 400; bytes the decoder cannot parse at all are 400, or 431 for a head
/// too large.
///
/// `BundleFastPathHandler`, the first handler to see each request, applies it: for the requests it
/// answers, from the fields it reads anyway; for the others, with `refusal(of:)`.
enum RequestHeadCheck {
    /// The framing fields of a head, gathered in the one pass over its fields.
    struct Framing {
        var hosts = 0
        var transferEncoding: [String] = []

        mutating func read(_ field: RequestField, value: String) {
            switch field {
            case .host: self.hosts += 1
            case .transferEncoding: self.transferEncoding.append(value)
            default: break
            }
        }
    }

    static func refusal(of head: HTTPRequestHead) -> ByteBuffer? {
        var framing = Framing()
        for (name, value) in head.headers {
            framing.read(RequestField(name), value: value)
        }
        return Self.refusal(of: framing, version: head.version)
    }

    static func refusal(of framing: Framing, version: HTTPVersion) -> ByteBuffer? {
        let isHTTP10 = version.major == 1 && version.minor == 0
        if !framing.transferEncoding.isEmpty {
            if isHTTP10 {
                return ConnectionResponse.closing(400, "Bad Request", "Transfer-Encoding is not allowed in HTTP/1.0 requests")
            }
            let codings = framing.transferEncoding.flatMap { $0.split(separator: ",") }.map { $0.trimmingASCIIWhitespace().lowercased() }
            if codings != ["chunked"] {
                let named = framing.transferEncoding.joined(separator: ", ").prefix(100)
                return ConnectionResponse.closing(501, "Not Implemented", "Transfer-Encoding \"\(named)\" is not supported: send a body with Content-Length or chunked")
            }
        }
        if !isHTTP10, framing.hosts != 1 {
            return ConnectionResponse.closing(400, "Bad Request", "an HTTP/1.1 request needs exactly one Host field")
        }
        return nil
    }

    static func refusal(for error: HTTPParserError) -> ByteBuffer {
        error == .headerOverflow
            ? ConnectionResponse.closing(431, "Request Header Fields Too Large", "the request's head is larger than the server reads")
            : ConnectionResponse.closing(400, "Bad Request", "the request is not valid HTTP/1.1 (\(error))")
    }
}
