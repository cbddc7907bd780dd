import NIOCore
import NIOPosix
import Testing

@testable import PixelEdgeCore
@testable import PixelEdgeRelay
@testable import PixelEdgeTestSupport

/// What an operator reads when a platform's API (or a CDN) gives no answer: a real client against real
/// sockets that refuse, close or answer something that is not HTTP, as a broken proxy or endpoint does.
@Suite struct OutboundFailureTests {
    /// The message `APIExchange` records for a POST to `url`: what the delivery's `last_error` says.
    func failure(calling url: String) async throws -> String {
        // The forwarder's own client: it fails a refused connection at once rather than retrying it.
        let connections = EventsAPIConnections(connectionsPerHost: 1)
        let exchange = APIExchange(httpClient: { connections.httpClient }, timeout: .seconds(20))
        let answer = await exchange.send(url, headers: [], body: "{}") { _, _, _ in
            Issue.record("no answer was expected")
            return EventsAPIAnswer(outcome: .accepted(requestID: nil), label: "0")
        }
        try await connections.shutdown()
        guard case .transient(.unreachable, code: nil, let message, requestID: nil, retryAfter: nil) = answer.outcome else {
            Issue.record("not an unreachable answer: \(answer.outcome)")
            return ""
        }
        return message
    }

    /// A one-connection-at-a-time TCP server on loopback whose reaction to the first bytes of a request is
    /// `react`; runs `body` with its base URL.
    func withServer(_ react: @escaping @Sendable (ChannelHandlerContext) -> Void, _ body: (String) async throws -> Void) async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Reaction(react)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        try await body("http://127.0.0.1:\(port)/open_api/v1.3/event/track/")
        try await server.close()
    }

    final class Reaction: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let react: @Sendable (ChannelHandlerContext) -> Void
        init(_ react: @escaping @Sendable (ChannelHandlerContext) -> Void) { self.react = react }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { self.react(context) }
    }

    @Test func aRefusedConnectionSaysSoWithoutNIOsWording() async throws {
        let url = "\(TestEnvironment.closedEventsAPIBase)/open_api/v1.3/event/track/"
        // NIO's own description: "connection reset (error set): Connection refused) (errno: 111)".
        #expect(try await self.failure(calling: url) == "cannot reach \(url): connection refused (errno 111)")
    }

    @Test func aServerThatClosesBeforeAnsweringIsNamedAsSuch() async throws {
        try await self.withServer({ $0.close(promise: nil) }) { url in
            let message = try await self.failure(calling: url)
            #expect(message == "cannot reach \(url): the server closed the connection before it answered")
        }
    }

    @Test func anAnswerThatIsNotHTTPIsNamedAsSuch() async throws {
        try await self.withServer({ context in
            context.writeAndFlush(NIOAny(ByteBuffer(string: "SSH-2.0-OpenSSH_9.2\r\n\r\n")), promise: nil)
        }) { url in
            let message = try await self.failure(calling: url)
            #expect(message.hasPrefix("cannot reach \(url): the answer is not HTTP/1.1 ("), "\(message)")
        }
    }

    /// `.invalid` never resolves (RFC 6761): what a mistyped `--tiktok-api-base` host, or no DNS at all, gives.
    @Test func aHostWithoutAnAddressIsNamed() async throws {
        let url = "http://pixeledge-test.invalid/open_api/v1.3/event/track/"
        let message = try await self.failure(calling: url)
        #expect(message.hasPrefix("cannot reach \(url): no address for pixeledge-test.invalid ("), "\(message)")
        #expect(!message.contains("SocketAddressError"), "NIO's type name is not for operators: \(message)")
    }

    @Test func errnoTextIsStrerrorsLowercasedWithItsNumber() {
        #expect(OutboundFailure.describe(errno: 104) == "connection reset by peer (errno 104)")
        #expect(OutboundFailure.describe(errno: 110) == "connection timed out (errno 110)")
        #expect(OutboundFailure.describe(IOError(errnoCode: 113, reason: "connect"), answerLimit: 1 << 16) == "no route to host (errno 113)")
    }
}
