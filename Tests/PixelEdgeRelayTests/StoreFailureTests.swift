import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
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

/// When the store cannot keep an event, `/collect` says so (503, never 204), `/readyz` tells the load
/// balancer, and the failure is logged once and counted.
@Suite struct StoreFailureTests {
    static let beacon: HTTPFields = [.contentType: "text/plain"]

    func withServer(
        log: LogRecorder = LogRecorder(),
        _ test: @escaping @Sendable (any TestClientProtocol, PixelEdgeServer, TemporaryDirectory) async throws -> Void
    ) async throws {
        let directory = try TemporaryDirectory()
        var configuration = TestEnvironment.configuration(in: directory)
        // The tests probe the store themselves (`server.probe.probe()`), at the steps they choose; the
        // server's own probe waits out the test, so that a slow machine cannot put one between two steps.
        configuration.storeProbeInterval = .seconds(3600)
        let server = try PixelEdgeServer(configuration: configuration, logger: log.logger)
        _ = try await server.store.save(
            PixelEdit(
                pixelCode: .set(try TikTokPixelCode.parse(TestEnvironment.pixelCode).value),
                accessToken: .set(try TikTokAccessToken.parse(TestEnvironment.accessToken).value)
            ),
            for: try PixelID(validating: "shop")
        )
        try await server.makeApplication().test(.router) { client in try await test(client, server, directory) }
    }

    static func event(_ id: String) -> ByteBuffer {
        ByteBuffer(string: #"{"pixel":"shop","event":"Lead","event_id":"\#(id)"}"#)
    }

    func expectUnavailable(_ client: any TestClientProtocol, reason: String, id: String, properties: String = "{}") async throws {
        let body = ByteBuffer(string: #"{"pixel":"shop","event":"Lead","event_id":"\#(id)","properties":\#(properties)}"#)
        try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: body) { response in
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.retryAfter] == "30")
            let message = try JSONValue.parsing(response.body.readableBytesView)["error"]?["message"]?.string
            #expect(message == "the event store cannot keep events now (\(reason)): try again later")
        }
        try await client.execute(uri: "/readyz", method: .get) { response in
            #expect(response.status == .serviceUnavailable)
            #expect(String(buffer: response.body).hasPrefix("not ready: \(reason)"))
        }
        try await client.execute(uri: "/healthz", method: .get) { response in
            if reason == "file_deleted" || reason == "file_replaced" {
                // Only a restart mends it: liveness says so, for an orchestrator to restart the node.
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).hasPrefix("restart needed: "))
            } else {
                #expect(response.status == .ok, "bundles are still served")
                #expect(String(buffer: response.body).contains("events not accepted: \(reason)"))
            }
        }
    }

    @Test func aDeletedDatabaseFileIsA503NotALostEvent() async throws {
        let log = LogRecorder()
        try await self.withServer(log: log) { client, server, directory in
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
            try FileManager.default.removeItem(atPath: directory.path("pixels.sqlite"))
            try await self.expectUnavailable(client, reason: "file_deleted", id: "e1")
            // Later events are refused without writing to the orphaned file.
            try await self.expectUnavailable(client, reason: "file_deleted", id: "e2")
            let metrics = server.metrics.exposition()
            #expect(metrics.contains(#"pixeledge_events_rejected_total{status="503"} 2"#))
            #expect(metrics.contains("pixeledge_store_available 0"))
            #expect(metrics.contains(#"pixeledge_store_write_failures_total{reason="file_deleted"}"#))
        }
        // One line when writes start failing, not one per refused request.
        let errors = log.logged.filter { $0.level == .error && $0.message.hasPrefix("the store cannot take writes") }.map(\.message)
        #expect(errors == ["the store cannot take writes: /collect answers 503 and /readyz 503 until it can"])
    }

    @Test func aReplacedDatabaseFileIsA503() async throws {
        try await self.withServer { client, _, directory in
            let path = directory.path("pixels.sqlite")
            _ = try SQLiteDatabase(path: directory.path("other.sqlite"))
            _ = rename(directory.path("other.sqlite"), path)
            try await self.expectUnavailable(client, reason: "file_replaced", id: "e1")
        }
    }

    @Test func aFullDiskIsA503AndTheStoreRecovers() async throws {
        let log = LogRecorder()
        try await self.withServer(log: log) { client, server, _ in
            // SQLite's own limit on the file's size: its writes then fail exactly as on a full disk (SQLITE_FULL).
            let pages = try await server.database!.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0 }
            try await server.database!.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = \(pages)") }
            let filler = #"{"description":"\#(String(repeating: "x", count: 4000))"}"#
            var status = HTTPResponse.Status.noContent
            var index = 0
            while status == .noContent, index < 100 {
                index += 1
                let body = ByteBuffer(string: #"{"pixel":"shop","event":"Lead","event_id":"e\#(index)","properties":\#(filler)}"#)
                status = try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: body) { $0.status }
            }
            #expect(status == .serviceUnavailable)
            try await self.expectUnavailable(client, reason: "disk_full", id: "full", properties: filler)
            #expect(log.logged.contains { $0.level == .error && $0.message.hasPrefix("the store cannot take writes") })
            let stored = try await server.outbox.pendingCount()
            #expect(stored == index - 1, "every 204 is a stored event")

            // The probe's own write (a row replaced in place) would still fit: it does not mark the store
            // ready while an event does not fit, nor when there is room for a few pages but not for an event.
            await server.probe.probe()
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .serviceUnavailable, "no room for an event yet") }
            try await server.database!.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = \(pages + 8)") }
            await server.probe.probe()
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .serviceUnavailable, "eight pages are not room for an event") }

            try await server.database!.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = 1073741823") }
            await server.probe.probe()
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/collect", method: .post, headers: Self.beacon, body: Self.event("after")) { #expect($0.status == .noContent) }
            #expect(log.logged.contains { $0.level == .notice && $0.message == "the store takes writes again" })
        }
    }

    @Test func aRecoveringStoreMustHaveRoomForTheLargestEventInEveryDestination() {
        #expect(StoreProbe.recoveryWriteSize >= DestinationID.all.count * CollectController<PixelEdgeRequestContext>.maximumBodySize)
    }

    @Test func aReadOnlyStoreIsA503AndReadinessSaysSoBeforeAnyEvent() async throws {
        try await self.withServer { client, server, _ in
            try await server.database!.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = 1") }
            // No event has come yet: the probe finds out.
            await server.probe.probe()
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).hasPrefix("not ready: read_only"))
            }
            try await self.expectUnavailable(client, reason: "read_only", id: "e1")
            #expect(try await server.outbox.pendingCount() == 0)
        }
    }

    @Test func theAdminAPIAnswers503WithABodyWhenTheStoreFails() async throws {
        try await self.withServer { client, server, _ in
            try await server.database!.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = 1") }
            let headers: HTTPFields = [.authorization: "Bearer \(TestEnvironment.adminToken)", .contentType: "application/json"]
            try await client.execute(uri: "/admin/pixels/new", method: .put, headers: headers, body: ByteBuffer(string: #"{"tiktok":null}"#)) { response in
                #expect(response.status == .serviceUnavailable)
                let message = try JSONValue.parsing(response.body.readableBytesView)["error"]?["message"]?.string
                #expect(message == "the store cannot do this now (read_only): try again later")
            }
        }
    }

    @Test func healthAndMetricsAnswerHEAD() async throws {
        try await self.withServer { client, _, _ in
            for path in ["/healthz", "/readyz", "/metrics"] {
                try await client.execute(uri: path, method: .head) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(response.body.readableBytes == 0)
                    #expect(Int(response.headers[.contentLength] ?? "") ?? 0 > 0)
                }
            }
        }
    }
}
