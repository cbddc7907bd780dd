import Foundation
import NIOCore
import NIOHTTP1
import PixelEdgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Answers cached bundle requests straight from the channel pipeline, below Hummingbird's router.
///
/// It sits between the HTTP/1 request decoder and the response encoder, so its replies are the bytes
/// prepared with each bundle version (status line and fields, then the shared `Date` line, then the body)
/// written as they are: no response object, no header encoding, no allocation per request. It takes only
/// what it answers exactly as the Hummingbird route would: GET or HEAD of a known pixel's bundle, on a
/// keep-alive HTTP/1.1 connection, with no conditional field but `If-None-Match`. Everything else (other
/// paths, unknown pixels, `If-Modified-Since`, 406s) goes on to Hummingbird, which shares the same cache and
/// rules. While a request it passed on is being answered, it passes on the next ones too, so responses
/// keep the order of pipelined requests.
final class BundleFastPathHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let cache: BundleCache
    private let metrics: PixelEdgeMetrics
    private let state: HTTPConnectionState
    /// This connection's copy of the cache's snapshot: refreshed when the cache's generation moves, which
    /// costs one atomic load per request and no lock.
    private var snapshot: BundleCache.Snapshot
    private var dateLine = DateLine()
    /// Dropping the body and end of a request already answered.
    private var isSkippingRequest = false
    private var needsFlush = false

    init(cache: BundleCache, metrics: PixelEdgeMetrics, state: HTTPConnectionState) {
        self.cache = cache
        self.metrics = metrics
        self.state = state
        self.snapshot = cache.snapshot
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            // A closing connection's answers say `Connection: close`: Hummingbird's path writes them.
            if self.state.forwardedInFlight == 0, !self.state.isClosing, self.answer(head, context: context) {
                self.isSkippingRequest = true
                return
            }
            self.isSkippingRequest = false
            self.state.forwardedInFlight += 1
            context.fireChannelRead(data)
        case .body:
            if !self.isSkippingRequest { context.fireChannelRead(data) }
        case .end:
            if self.isSkippingRequest {
                self.isSkippingRequest = false
            } else {
                context.fireChannelRead(data)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Answers to one read are flushed together: pipelined requests cost one write.
        if self.needsFlush {
            self.needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    /// Writes the prepared answer to `head` and returns true, or returns false to pass the request on.
    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) -> Bool {
        guard head.method == .GET || head.method == .HEAD, head.version == .http1_1, head.isKeepAlive else { return false }
        let uri = head.uri
        let queryStart = uri.utf8.firstIndex(of: UInt8(ascii: "?"))
        let path = uri[..<(queryStart ?? uri.endIndex)]
        let query = queryStart.map { uri[uri.index(after: $0)...] }
        guard case .pixel(let idText) = BundleRequestTarget(path: path, query: query), let id = PixelID(idText) else { return false }
        if let newer = self.cache.snapshot(ifNewerThan: self.snapshot.generation) {
            self.snapshot = newer
        }
        guard let bundle = self.snapshot[id] else { return false }

        var acceptEncoding = ContentCoding.Weights()
        var hasAcceptEncoding = false
        var ifNoneMatch: String?
        for (name, value) in head.headers {
            switch Self.field(name) {
            case .acceptEncoding:
                hasAcceptEncoding = true
                acceptEncoding.read(value)
            case .ifNoneMatch:
                // A repeated If-None-Match is rare enough for the general path.
                guard ifNoneMatch == nil else { return false }
                ifNoneMatch = value
            case .otherCondition:
                return false
            case .other:
                continue
            }
        }
        guard let coding = hasAcceptEncoding ? acceptEncoding.choice : .identity else { return false }
        let representation = coding == .gzip ? bundle.gzip : bundle.identity
        let notModified = ifNoneMatch.map { EntityTagList($0).matchesWeakly(representation.entityTag) } ?? false

        context.write(self.wrapOutboundOut(.byteBuffer(notModified ? representation.notModifiedHead : representation.okHead)), promise: nil)
        context.write(self.wrapOutboundOut(.byteBuffer(self.dateLine.current())), promise: nil)
        if !notModified, head.method == .GET {
            context.write(self.wrapOutboundOut(.byteBuffer(representation.body)), promise: nil)
        }
        self.needsFlush = true
        self.metrics.bundleResponded(status: notModified ? 304 : 200)
        return true
    }

    private enum Field {
        case acceptEncoding, ifNoneMatch, otherCondition, other
    }

    /// Classifies a field name by its bytes, case-insensitively, without building a lowercase copy.
    private static func field(_ name: String) -> Field {
        var name = name
        return name.withUTF8 { bytes in
            switch bytes.count {
            case 15 where Self.equals(bytes, "accept-encoding"): return .acceptEncoding
            case 13 where Self.equals(bytes, "if-none-match"): return .ifNoneMatch
            case 8 where Self.equals(bytes, "if-match"): return .otherCondition
            case 17 where Self.equals(bytes, "if-modified-since"): return .otherCondition
            case 19 where Self.equals(bytes, "if-unmodified-since"): return .otherCondition
            case 8 where Self.equals(bytes, "if-range"): return .otherCondition
            default: return .other
            }
        }
    }

    private static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        lowercase.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { byte, lower in byte == lower || (byte | 0x20) == lower && lower >= UInt8(ascii: "a") }
        }
    }
}

/// The `Date` line of this connection's responses, formatted once per second.
struct DateLine {
    private var second = -1
    private var line = ByteBuffer()

    mutating func current() -> ByteBuffer {
        let now = time(nil)
        if now != self.second {
            self.second = now
            self.line = ByteBuffer(string: "Date: \(HTTPDate.format(Date(timeIntervalSince1970: TimeInterval(now))))\r\n\r\n")
        }
        return self.line
    }
}
