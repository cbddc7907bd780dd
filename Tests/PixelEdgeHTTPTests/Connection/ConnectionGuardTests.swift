import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import PixelEdgeBundles
@testable import PixelEdgeHTTP
@testable import PixelEdgeMetrics
@testable import PixelEdgeTestSupport

/// The connection's handlers in an `EmbeddedChannel`, whose event loop's clock moves only when a test
/// moves it: the same pipeline as a real connection, with a stand-in for Hummingbird that answers each
/// request it is passed once its end is read. (The raw-socket suites in Tests/hostile cover the same over
/// real sockets and clocks.)
@Suite struct ConnectionGuardTests {
    /// Answers every request passed on to it with `200 ok`, as Hummingbird would, once the request ends.
    final class Responder: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        var answerImmediately = true
        var held: [ChannelHandlerContext] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = self.unwrapInboundIn(data) else { return }
            if self.answerImmediately { Self.answer(context) } else { self.held.append(context) }
        }

        static func answer(_ context: ChannelHandlerContext) {
            var head = HTTPResponseHead(version: .http1_1, status: .ok)
            head.headers.add(name: "Content-Length", value: "2")
            context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
            context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "ok")))), promise: nil)
            context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)), promise: nil)
        }
    }

    let settings = ConnectionSettings(
        idleTimeout: .seconds(75), headTimeout: .seconds(10), bodyTimeout: .seconds(10), sendTimeout: .seconds(30), maximumConnections: 100,
        drainTimeout: .seconds(10), lingerTimeout: .seconds(2)
    )

    /// Counts the request heads NIO's decoder reads: those `BundleHeadReader` handed on.
    final class DecodedHeads: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias InboundOut = HTTPServerRequestPart
        var uris: [String] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let head) = self.unwrapInboundIn(data) { self.uris.append(head.uri) }
            context.fireChannelRead(data)
        }
    }

    /// A connection's pipeline as `BundleFastPathChannel` sets it up, with `decoded` after the decoder and
    /// `responder` in Hummingbird's place: the head reader adds the handlers behind it when it first hands
    /// bytes on. Without `BundleHeadReader` if `headReader` is false, for comparisons.
    func channel(
        responder: Responder = Responder(), cache: BundleCache = BundleCache(limit: 1 << 20), decoded: DecodedHeads = DecodedHeads(),
        headReader: Bool = true
    ) throws -> EmbeddedChannel {
        let metrics = PixelEdgeMetrics()
        let connection = ConnectionGuard(settings: self.settings, registry: ConnectionRegistry(limit: 100, metrics: metrics), metrics: metrics)
        let channel = EmbeddedChannel()
        let pipeline = channel.pipeline.syncOperations
        func addHTTPHandlers() throws {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)))
            try pipeline.addHandler(decoded)
            try pipeline.addHandler(BundleFastPathHandler(cache: cache, metrics: metrics, connection: connection))
            try pipeline.addHandler(HTTPResponseEncoder(configuration: .init()))
            try pipeline.addHandler(ForwardedResponseTracker(connection: connection))
            try pipeline.addHandler(responder)
        }
        try pipeline.addHandler(connection)
        if headReader {
            try pipeline.addHandler(
                BundleHeadReader(cache: cache, metrics: metrics, connection: connection, httpHandlers: .init(add: addHTTPHandlers, notNeeded: {}))
            )
        } else {
            try addHTTPHandlers()
        }
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        return channel
    }

    /// Everything written so far, as text.
    func written(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let data = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = data { text += String(buffer: buffer) }
        }
        return text
    }

    static let request = "GET /x HTTP/1.1\r\nHost: edge\r\n\r\n"

    @Test func idleConnectionsCloseAtTheIdleTimeout() throws {
        let channel = try self.channel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(74))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
        #expect(try self.written(channel).isEmpty, "an idle connection gets no answer")
    }

    @Test func aRequestKeepsTheConnectionOpenForAnotherIdleTimeout() throws {
        let channel = try self.channel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        try channel.writeInbound(ByteBuffer(string: Self.request))
        #expect(try self.written(channel).hasPrefix("HTTP/1.1 200 OK\r\n"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(70))
        #expect(channel.isActive, "the idle time counts from the last request")
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(!channel.isActive)
    }

    @Test func aSlowHeadIsAnswered408() throws {
        let channel = try self.channel()
        try channel.writeInbound(ByteBuffer(string: "GET /x HTTP/1.1\r\nHo"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(try self.written(channel).isEmpty)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        let answer = try self.written(channel)
        #expect(answer.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(answer.hasSuffix("the request did not send its head in time\n"))
    }

    @Test func aSlowBodyIsAnswered408() throws {
        let channel = try self.channel()
        try channel.writeInbound(ByteBuffer(string: "POST /collect HTTP/1.1\r\nHost: edge\r\nContent-Length: 10\r\n\r\n12345"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(try self.written(channel).hasSuffix("the request did not send its body in time\n"))
    }

    @Test func pipelinedRequestsAreAnsweredInOrderAndABadOneLast() throws {
        let channel = try self.channel()
        try channel.writeInbound(ByteBuffer(string: Self.request + Self.request + "GET / HTTP/1.1\r\n\r\n"))
        let written = try self.written(channel)
        #expect(written.components(separatedBy: "HTTP/1.1 200 OK\r\n").count == 3, "\(written)")
        let lastOK = try #require(written.range(of: "HTTP/1.1 200 OK\r\n", options: .backwards))
        let refusal = try #require(written.range(of: "HTTP/1.1 400 Bad Request\r\n"))
        #expect(lastOK.upperBound <= refusal.lowerBound, "the refusal comes after the responses owed before it")
        #expect(written.hasSuffix("an HTTP/1.1 request needs exactly one Host field\n"))
    }

    @Test func quiescingWaitsForTheResponseOwedAndSaysConnectionClose() throws {
        let responder = Responder()
        responder.answerImmediately = false
        let channel = try self.channel(responder: responder)
        try channel.writeInbound(ByteBuffer(string: Self.request))
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(channel.isActive, "a response is owed")
        Responder.answer(try #require(responder.held.first))
        let written = try self.written(channel)
        #expect(written.lowercased().contains("connection: close"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
    }

    @Test func quiescingEndsAtTheDrainDeadline() throws {
        let responder = Responder()
        responder.answerImmediately = false
        let channel = try self.channel(responder: responder)
        try channel.writeInbound(ByteBuffer(string: Self.request))
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive, "the drain timeout closes it, answered or not")
    }

    @Test func anEvictedIdleConnectionCloses() throws {
        let channel = try self.channel()
        channel.pipeline.fireUserInboundEventTriggered(ConnectionGuard.Evict())
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(!channel.isActive)
    }

    /// A client that leaves a response unread: nothing more is read from it, and at the send timeout the
    /// connection is dropped.
    @Test func aClientThatDoesNotReadIsDroppedAtTheSendTimeout() throws {
        let channel = try self.channel()
        try channel.writeInbound(ByteBuffer(string: Self.request))
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive, "dropped at the send timeout")
    }
}
