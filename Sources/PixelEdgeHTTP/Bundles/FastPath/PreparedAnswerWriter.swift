import Foundation
import NIOCore
import PixelEdgeBundles
import PixelEdgeCore
import PixelEdgeMetrics

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What both fast path handlers (`BundleHeadReader` on the raw bytes, `BundleFastPathHandler` after NIO's
/// decoder) do once they have read a request: find the cached bundle its target names, and write the
/// prepared 200 or 304 that the one decision both paths share (`BundleAnswer`) picks.
///
/// The answer is the bytes prepared with each bundle version (status line and fields, then the shared
/// `Date` line, then the body) written as they are: no response object, no header encoding, no
/// allocation per request. One per connection, and per fast path handler; a class, so that using it copies
/// (and retains) none of its fields.
final class PreparedAnswerWriter {
    private let cache: BundleCache
    private let metrics: PixelEdgeMetrics
    /// Sampled request logging (`--log-requests`): off, one branch per request.
    private let requestLog: RequestLog?
    private var dateLine = DateLine()
    /// Bodies up to this size are copied behind their head rather than written apart.
    static let copiedBodyLimit = 8 * 1024
    private var head = ByteBuffer()

    init(cache: BundleCache, metrics: PixelEdgeMetrics, requestLog: RequestLog?) {
        self.cache = cache
        self.metrics = metrics
        self.requestLog = requestLog
    }

    /// The cached bundle `target` names, if it names one.
    func bundle(for target: Substring) -> (bundle: PreparedBundle, path: Substring)? {
        let queryStart = target.utf8.firstIndex(of: UInt8(ascii: "?"))
        let path = target[..<(queryStart ?? target.endIndex)]
        let query = queryStart.map { target[target.index(after: $0)...] }
        guard case .pixel(let idText) = BundleRequestTarget(path: path, query: query), let id = PixelID(idText),
            let bundle = self.cache[id]
        else { return nil }
        return (bundle, path)
    }

    /// The cached bundle of `pixel`.
    func bundle(of pixel: PixelID) -> PreparedBundle? {
        self.cache[pixel]
    }

    /// Writes the answer to `request` if it is a 200 or a 304; false for a 406 or a 412, which
    /// Hummingbird's path answers from the same decision, with its error body, and for a compression not
    /// made yet, which it makes. The caller flushes. `path` is made only for a sampled request log line.
    func write(
        _ request: BundleRequest, of bundle: PreparedBundle, path: @autoclosure () -> Substring, context: ChannelHandlerContext
    ) -> Bool {
        let notModified: Bool
        let representation: BundleRepresentation
        switch BundleAnswer(to: request, for: bundle) {
        case .ok(let answer):
            (representation, notModified) = (answer, false)
        case .notModified(let answer):
            (representation, notModified) = (answer, true)
        case .preconditionFailed, .notAcceptable, .unprepared:
            return false
        }
        // The head, the Date line and a body of a usual size go as one buffer, reused from the last response
        // once the socket has taken it: one write through the pipeline and one entry for the socket per
        // response. Copying a compressed bundle (1 to 2 KB) costs less than the write it saves; a large body
        // goes as it is.
        self.head.clear()
        self.head.writeImmutableBuffer(notModified ? representation.notModifiedHead : representation.okHead)
        self.head.writeImmutableBuffer(self.dateLine.current())
        let sendsBody = !notModified && !request.isHead
        let copiesBody = sendsBody && representation.body.readableBytes <= Self.copiedBodyLimit
        if copiesBody { self.head.writeImmutableBuffer(representation.body) }
        context.write(NIOAny(IOData.byteBuffer(self.head)), promise: nil)
        if sendsBody, !copiesBody {
            context.write(NIOAny(IOData.byteBuffer(representation.body)), promise: nil)
        }
        self.metrics.bundleResponded(status: notModified ? 304 : 200)
        if let log = self.requestLog, log.isSampled() {
            // Answered from memory as the head was read: no time worth measuring.
            log.log(method: request.isHead ? "HEAD" : "GET", path: path(), status: notModified ? 304 : 200, duration: .zero)
        }
        return true
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
