import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOPosix
import Testing

@testable import PixelEdgeApp
@testable import PixelEdgeHTTP
@testable import PixelEdgeAdministration
@testable import PixelEdgeBundles
@testable import PixelEdgeCore
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite
@testable import PixelEdgeTestSupport

/// The bundle fast path over a raw socket: byte-exact answers, pipelining order, and everything it must
/// leave to Hummingbird.
@Suite struct FastPathTests {
    /// Sends `request` (possibly several pipelined requests) on one connection and returns the raw bytes
    /// received once `count` responses have arrived.
    static func exchange(port: Int, _ request: String, responses count: Int) async throws -> [RawResponse] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            var received = ByteBuffer()
            for try await chunk in inbound {
                received.writeImmutableBuffer(chunk)
                if let responses = RawResponse.parse(received), responses.count >= count { return responses }
            }
            throw CancellationError()
        }
    }

    struct RawResponse {
        let status: Int
        let headers: [String: String]
        let body: String

        /// Parses complete responses (Content-Length framed; 304 without body) from raw bytes; nil when incomplete.
        static func parse(_ buffer: ByteBuffer) -> [RawResponse]? {
            let bytes = Array(buffer.readableBytesView)
            var index = 0
            var responses: [RawResponse] = []
            let separator: [UInt8] = Array("\r\n\r\n".utf8)
            while index < bytes.count {
                guard bytes.count - index >= separator.count else { return nil }
                guard let end = (index...(bytes.count - separator.count)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else { return nil }
                let head = String(decoding: bytes[index..<end], as: UTF8.self)
                let lines = head.split(separator: "\r\n")
                let status = Int(lines[0].split(separator: " ")[1]) ?? 0
                var headers: [String: String] = [:]
                for line in lines.dropFirst() {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces)
                }
                let length = status == 304 ? 0 : Int(headers["content-length"] ?? "0") ?? 0
                let bodyStart = end + 4
                guard bytes.count - bodyStart >= length else { return nil }
                responses.append(RawResponse(status: status, headers: headers, body: String(decoding: bytes[bodyStart..<bodyStart + length], as: UTF8.self)))
                index = bodyStart + length
            }
            return responses
        }
    }

    func withLiveServer(_ test: @escaping @Sendable (Int, PixelEdgeServer) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        let server = try TestEnvironment.server(in: directory)
        try await server.makeApplication().test(.live) { client in
            try await test(try #require(client.port), server)
        }
        _ = directory
    }

    @Test func pipelinedRequestsAreAnsweredInOrderAcrossBothPaths() async throws {
        try await self.withLiveServer { port, _ in
            let request = "GET /p/demo/pb.js HTTP/1.1\r\nHost: a\r\n\r\n"
                + "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
                + "GET /p/demo/pb.js HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n"
                + "GET /p/nope/pb.js HTTP/1.1\r\nHost: a\r\n\r\n"
                + "GET /p/demo/pb.js HTTP/1.1\r\nHost: a\r\n\r\n"
            let responses = try await Self.exchange(port: port, request, responses: 5)
            #expect(responses.map(\.status) == [200, 200, 200, 404, 200])
            #expect(responses[0].body.contains("TiktokAnalyticsObject"))
            #expect(responses[1].body == "ok: 1 pixel, 1 bundle cached\n")
            #expect(responses[2].headers["content-encoding"] == "gzip")
            #expect(responses[3].body.hasPrefix("/* PixelEdge: 404"))
            #expect(responses[4].body == responses[0].body)
        }
    }

    @Test func theFastPathCountsItsResponsesAndPassesEverythingElseOn() async throws {
        try await self.withLiveServer { port, server in
            let etag = try #require(try await Self.exchange(port: port, "GET /p/demo/pb.js HTTP/1.1\r\nHost: a\r\n\r\n", responses: 1)[0].headers["etag"])
            let revalidation = try await Self.exchange(port: port, "GET /p/demo/pb.js HTTP/1.1\r\nHost: a\r\nIf-None-Match: \(etag)\r\n\r\n", responses: 1)
            #expect(revalidation[0].status == 304)
            #expect(revalidation[0].headers["etag"] == etag)
            #expect(revalidation[0].headers["date"] != nil)
            // HTTP/1.0, Connection: close and If-Modified-Since are Hummingbird's; the answers are the same.
            let old = try await Self.exchange(port: port, "GET /p/demo/pb.js HTTP/1.0\r\nHost: a\r\n\r\n", responses: 1)
            #expect(old[0].status == 200)
            let closing = try await Self.exchange(port: port, "GET /p/demo/pb.js HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", responses: 1)
            #expect(closing[0].status == 200)
            let text = server.metrics.exposition()
            #expect(text.contains(#"pixeledge_bundle_responses_total{status="200"} 3"#))
            #expect(text.contains(#"pixeledge_bundle_responses_total{status="304"} 1"#))
        }
    }

    @Test func aChangedBundleIsServedAtOnce() async throws {
        try await self.withLiveServer { port, server in
            let before = try await Self.exchange(port: port, "GET /p/demo/pb.js HTTP/1.1\r\nHost: a\r\n\r\n", responses: 1)[0]
            _ = try await server.store.save(PixelEdit(pixelCode: .set(try TikTokPixelCode.parse(TestEnvironment.pixelCode).value)), for: try PixelID(validating: "demo"))
            try await server.updater.refresh()
            let after = try await Self.exchange(port: port, "GET /p/demo/pb.js HTTP/1.1\r\nHost: a\r\n\r\n", responses: 1)[0]
            #expect(before.headers["etag"] != after.headers["etag"])
            #expect(after.body.contains(TestEnvironment.pixelCode))
        }
    }
}
