import Foundation
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Synchronization
import Testing

@testable import PixelEdgeBundles
@testable import PixelEdgeCore
@testable import PixelEdgeHTTP
@testable import PixelEdgeMetrics
@testable import PixelEdgeTestSupport

/// `BundleHeadReader` in the connection's pipeline: which requests it answers from the raw bytes, and that
/// NIO's decoder still reads everything else, whole and in order.
@Suite struct BundleHeadReaderTests {
    let connection = ConnectionGuardTests()
    let cache = BundleCache(limit: 1 << 22)
    let bundle: PreparedBundle
    let pixel: PixelConfig

    init() throws {
        let pixel = PixelConfig(
            id: try PixelID(validating: "shop"), tiktok: TikTokDestination(pixelCode: try TikTokPixelCode.parse(TestEnvironment.pixelCode).value),
            version: 1, updatedAt: Date(timeIntervalSince1970: 1_700_000_000))
        let renderer = BundleRenderer(templates: try BundleTemplates(directory: TestEnvironment.templatesDirectory), settings: .init())
        self.bundle = try PreparedBundle(pixel: pixel, renderer: renderer)
        self.pixel = pixel
        self.cache.store(self.bundle)
    }

    /// Bytes arriving in one read, as a socket delivers them: the read, then its end.
    func read(_ text: String, into channel: EmbeddedChannel) throws {
        try channel.writeInbound(ByteBuffer(string: text))
        channel.pipeline.fireChannelReadComplete()
    }

    static let bundleRequest = "GET /p/shop/pb.js HTTP/1.1\r\nHost: edge\r\nAccept-Encoding: gzip\r\n\r\n"

    /// The statuses of the responses written, in order.
    func statuses(_ channel: EmbeddedChannel) throws -> [String] {
        Self.statuses(try self.connection.written(channel))
    }

    static func statuses(_ written: String) -> [String] {
        // A status line follows the body before it directly; the refusals' texts say "HTTP/1.1 request".
        let starts: [Substring] = written.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(4) }
        return starts.filter { start in start.last == " " && Int(start.prefix(3)) != nil }.map { String($0.prefix(3)) }
    }

    @Test func pipelinedBundleRequestsAreAnsweredFromTheBytesInOrder() throws {
        let decoded = ConnectionGuardTests.DecodedHeads()
        let channel = try self.connection.channel(cache: self.cache, decoded: decoded)
        let etag = self.bundle.gzip!.entityTag
        let revalidation = Self.bundleRequest.replacingOccurrences(of: "\r\n\r\n", with: "\r\nIf-None-Match: \(etag)\r\n\r\n")
        try self.read(Self.bundleRequest + revalidation + "HEAD /pb.js?id=shop HTTP/1.1\r\nHost: edge\r\n\r\n", into: channel)
        #expect(try self.statuses(channel) == ["200", "304", "200"])
        #expect(decoded.uris.isEmpty, "NIO's decoder read none of them")
    }

    /// A usual body is copied behind its head and goes in one write; one over `copiedBodyLimit` goes apart.
    /// Either way the client reads the prepared head, the Date line and the body, in that order, whole.
    @Test(arguments: [false, true]) func aBodyIsWrittenWholeWhetherCopiedBehindItsHeadOrNot(large: Bool) throws {
        var bundle = self.bundle
        let cache = BundleCache(limit: 1 << 22)
        if large {
            // The same templates, pb-tiktok's padded past the limit with what no compression reaches in identity.
            let directory = try TemporaryDirectory()
            for name in try FileManager.default.contentsOfDirectory(atPath: TestEnvironment.templatesDirectory) where name.hasSuffix(".mustache") {
                try FileManager.default.copyItem(atPath: TestEnvironment.templatesDirectory + "/" + name, toPath: directory.path(name))
            }
            let padding = "\n//" + (0..<PreparedAnswerWriter.copiedBodyLimit / 2).map { String($0, radix: 36) }.joined(separator: ",") + "\n"
            let handle = try FileHandle(forWritingTo: directory.url.appendingPathComponent("pb-tiktok.js.mustache"))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(padding.utf8))
            try handle.close()
            let renderer = BundleRenderer(templates: try BundleTemplates(directory: directory.url.path), settings: .init())
            bundle = try PreparedBundle(pixel: self.pixel, renderer: renderer)
        }
        cache.store(bundle)
        let identity = try #require(bundle.representation(.identity))
        #expect((identity.body.readableBytes > PreparedAnswerWriter.copiedBodyLimit) == large)

        let channel = try self.connection.channel(cache: cache)
        try self.read("GET /p/shop/pb.js HTTP/1.1\r\nHost: edge\r\n\r\n", into: channel)
        var writes: [ByteBuffer] = []
        while let data = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = data { writes.append(buffer) }
        }
        #expect(writes.count == (large ? 2 : 1))
        let written = writes.reduce(into: ByteBuffer()) { all, buffer in all.writeImmutableBuffer(buffer) }
        let head = String(buffer: identity.okHead)
        let text = String(buffer: written)
        #expect(text.hasPrefix(head))
        #expect(text.dropFirst(head.count).hasPrefix("Date: "))
        #expect(written.readableBytesView.suffix(identity.body.readableBytes).elementsEqual(identity.body.readableBytesView))
        var dateLine = DateLine()
        #expect(written.readableBytes == identity.okHead.readableBytes + dateLine.current().readableBytes + identity.body.readableBytes)
    }

    /// In the pipeline `BundleFastPathChannel` sets up, the handlers behind the head reader (NIO's decoder,
    /// Hummingbird's) are added when it first hands bytes on: a connection that only asks for cached bundles
    /// never has them, and the connection's task learns, when it ends, that there is nothing to serve.
    @Test func hummingbirdsHandlersAreAddedOnlyWhenARequestNeedsThem() throws {
        let metrics = PixelEdgeMetrics()
        let childChannel = BundleFastPathChannel(
            responder: { _, _, _ in }, cache: self.cache, metrics: metrics, settings: self.connection.settings,
            registry: ConnectionRegistry(limit: 10, metrics: metrics)
        )
        func connection() throws -> (EmbeddedChannel, BundleFastPathChannel.HTTPConnection) {
            let channel = EmbeddedChannel()
            let value = try childChannel.setup(channel: channel, logger: Logger(label: "test")).wait()
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
            return (channel, value)
        }
        func hasDecoder(_ channel: EmbeddedChannel) -> Bool {
            (try? channel.pipeline.syncOperations.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self)) != nil
        }
        /// nil while the task still waits; then whether it got Hummingbird's async channel.
        func served(_ value: BundleFastPathChannel.HTTPConnection) -> Bool? {
            // The embedded loop runs the callback at once if the future is complete.
            let served = Mutex<Bool?>(nil)
            value.handlers.whenSuccess { handlers in served.withLock { $0 = handlers != nil } }
            return served.withLock { $0 }
        }

        let (bundlesOnly, bundlesOnlyTask) = try connection()
        try self.read(Self.bundleRequest + Self.bundleRequest, into: bundlesOnly)
        #expect(try self.statuses(bundlesOnly) == ["200", "200"])
        #expect(!hasDecoder(bundlesOnly))
        #expect(served(bundlesOnlyTask) == nil)
        try bundlesOnly.close().wait()
        #expect(served(bundlesOnlyTask) == false)

        let (mixed, mixedTask) = try connection()
        try self.read(Self.bundleRequest, into: mixed)
        #expect(!hasDecoder(mixed))
        try self.read("GET /healthz HTTP/1.1\r\nHost: edge\r\n\r\n", into: mixed)
        #expect(hasDecoder(mixed))
        #expect(served(mixedTask) == true)
        try mixed.close().wait()
    }

    @Test func aHeadSplitOverReadsIsAnsweredOnceWhole() throws {
        let decoded = ConnectionGuardTests.DecodedHeads()
        let channel = try self.connection.channel(cache: self.cache, decoded: decoded)
        for piece in ["GET /p/sh", "op/pb.js HTTP/1.1\r\nHo", "st: edge\r", "\n\r", "\n"] {
            #expect(try self.statuses(channel).isEmpty, "nothing is answered before the head's empty line")
            try self.read(piece, into: channel)
        }
        #expect(try self.statuses(channel) == ["200"])
        #expect(decoded.uris.isEmpty)
    }

    @Test func otherRequestsGoToTheDecoderWholeAndTheNextBundleRequestComesBack() throws {
        let decoded = ConnectionGuardTests.DecodedHeads()
        let channel = try self.connection.channel(cache: self.cache, decoded: decoded)
        try self.read(Self.bundleRequest + "GET /healthz HTTP/1.1\r\nHost: edge\r\n\r\n"
            + "GET /p/nope/pb.js HTTP/1.1\r\nHost: edge\r\n\r\n" + "GET /p/shop/pb.js HTTP/1.0\r\nHost: edge\r\nConnection: keep-alive\r\n\r\n"
            + Self.bundleRequest, into: channel)
        // The stand-in for Hummingbird answers 200 "ok": the bundle requests are the ones with a body of their own.
        let written = try self.connection.written(channel)
        #expect(written.components(separatedBy: "\r\n\r\nok").count == 4, "three requests answered by the responder")
        #expect(written.components(separatedBy: "Content-Encoding: gzip").count == 3, "two bundles answered here")
        #expect(decoded.uris == ["/healthz", "/p/nope/pb.js", "/p/shop/pb.js"], "the decoder read exactly the others")
    }

    @Test func afterABodyTheDecoderReadsTheRestOfTheConnection() throws {
        let decoded = ConnectionGuardTests.DecodedHeads()
        let channel = try self.connection.channel(cache: self.cache, decoded: decoded)
        try self.read("POST /collect HTTP/1.1\r\nHost: edge\r\nContent-Length: 19\r\n\r\nGET /p/shop/pb.js H" + Self.bundleRequest, into: channel)
        try self.read(Self.bundleRequest, into: channel)
        // The body that looks like a request is a body; the bundle requests after it are answered after the decoder.
        #expect(decoded.uris == ["/collect", "/p/shop/pb.js", "/p/shop/pb.js"])
        let written = try self.connection.written(channel)
        #expect(written.hasPrefix("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        #expect(written.components(separatedBy: "Content-Encoding: gzip").count == 3)
    }

    @Test func aHeadThatIsNotPlainIsRefusedByTheDecoderAsBefore() throws {
        let decoded = ConnectionGuardTests.DecodedHeads()
        let channel = try self.connection.channel(cache: self.cache, decoded: decoded)
        try self.read(Self.bundleRequest + "GET /p/shop/pb.js HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + Self.bundleRequest, into: channel)
        let written = try self.connection.written(channel)
        #expect(Self.statuses(written) == ["200", "400"])
        #expect(written.hasSuffix("an HTTP/1.1 request needs exactly one Host field\n"))
    }

    /// The same reads, with and without the head reader: the same bytes written (each response's `Date`
    /// line aside), the same connection state.
    @Test(arguments: [
        [bundleRequest + "GET /p/shop/pb.js HTTP/1.1\r\nHost: e", "<close>"],
        [bundleRequest + "GET /p/shop/pb.js HTTP/1.1\r\nHost: e", "dge\r\n\r\n", "<close>"],
        [bundleRequest + "GET /p/shop/pb.js HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + bundleRequest],
        [bundleRequest + "GET /p/shop/pb.js HTTP/1.0\r\nHost: a\r\n\r\n" + bundleRequest],
        [bundleRequest + "GET /p/shop/pb.js HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" + bundleRequest],
        [bundleRequest + "BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n" + bundleRequest],
        [bundleRequest + "GET /p/shop/pb.js HTTP/1.1\nHost: a\n\n" + bundleRequest],
        [bundleRequest + "GET /p/shop/pb.js HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n" + bundleRequest],
        [bundleRequest + "GET /p/shop/pb.js HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" + bundleRequest],
        [bundleRequest + "OPTIONS /collect HTTP/1.1\r\nHost: a\r\n\r\n" + bundleRequest],
        [bundleRequest + "GET /p/shop/pb.js HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n" + bundleRequest],
        [bundleRequest + "\r\n" + bundleRequest],
        [bundleRequest + "GET /p/shop/pb.js HTTP/1.1\r\nHost: a\r\nIf-Match: \"nope\"\r\n\r\n" + bundleRequest],
        [bundleRequest + "GET /p/shop/pb.js HTTP/1.1\r\nHost: a\r\nAccept-Encoding: identity;q=0\r\n\r\n" + bundleRequest],
        [String(repeating: "GET /p/shop/pb.js HTTP/1.1\r\nHost: a\r\nCookie: " + String(repeating: "c", count: 3000) + "\r\n\r\n", count: 3)],
    ])
    func theConnectionReadsAsItDidWithoutTheHeadReader(_ reads: [String]) throws {
        func run(headReader: Bool) throws -> (written: String, isActive: Bool) {
            let channel = try self.connection.channel(cache: self.cache, headReader: headReader)
            var written = ""
            for read in reads {
                if read == "<close>" {
                    channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
                } else {
                    try self.read(read, into: channel)
                }
                written += try self.connection.written(channel)
            }
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
            written += try self.connection.written(channel)
            let dated = written.components(separatedBy: "\r\n").map { $0.hasPrefix("Date: ") ? "Date: -" : $0 }.joined(separator: "\r\n")
            return (dated, channel.isActive)
        }
        let with = try run(headReader: true)
        let without = try run(headReader: false)
        #expect(with.written == without.written)
        #expect(with.isActive == without.isActive)
        #expect(!with.written.isEmpty)
    }
}
