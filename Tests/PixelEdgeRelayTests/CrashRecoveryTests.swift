import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import Subprocess
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

/// `kill -9` of a real `pixel-edge serve` after it accepted events and before it forwarded them: on restart
/// every accepted event reaches the Events API, a repeat only ever with its own event_id.
@Suite struct CrashRecoveryTests {
    @Test func noAcceptedEventIsLostToKillDashNine() async throws {
        let directory = try TemporaryDirectory()
        let database = directory.path("crash.sqlite")
        let set = try await CommandRunner.createShop(in: database)
        #expect(set.status == 0)
        let fake = FakeEventsAPI()
        try await fake.run { base in
            // Until the crash TikTok is down, so every accepted event is still between accept and forward.
            fake.answer { _ in .init(status: .serviceUnavailable, body: "maintenance") }
            let arguments = ["--tiktok-api-base", base, "--forward-window-ms", "50"]
            let first = try await ServerProcess.start(database: database, arguments: arguments)
            let accepted = try await withThrowingTaskGroup(of: String?.self) { group in
                for index in 1...60 {
                    group.addTask {
                        var request = HTTPClientRequest(url: first.baseURL + "/collect")
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "text/plain;charset=UTF-8")
                        request.body = .bytes(ByteBuffer(string: #"{"pixel":"shop","event":"Lead","event_id":"crash-\#(index)"}"#))
                        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                        return response.status == .noContent ? "crash-\(index)" : nil
                    }
                }
                var accepted: Set<String> = []
                for try await id in group { if let id { accepted.insert(id) } }
                return accepted
            }
            #expect(accepted.count == 60)
            // Killed once it has tried, and failed, to forward: its events are then between accept and forward
            // whatever the machine's speed (a slow one could end the requests before the first pass).
            try await withDeadline(.seconds(30), "the first server's refused attempt") {
                await fake.waitUntil { requests in requests.contains { !$0.accepted } }
            }
            #expect(try await first.stop(signal: SIGKILL) == .signaled(SIGKILL))

            fake.answer { _ in .ok }
            let second = try await ServerProcess.start(database: database, arguments: arguments)
            try await withDeadline(.seconds(30), "every accepted event at the fake Events API") {
                await fake.waitUntil { requests in
                    accepted.isSubset(of: Set(requests.filter(\.accepted).flatMap(\.eventIDs)))
                }
            }
            #expect(try await second.stop() == .exited(0))
            let delivered = fake.requests.flatMap(\.eventIDs)
            #expect(Set(delivered) == accepted, "nothing but accepted events, each under its own event_id")
            #expect(fake.requests.allSatisfy { $0.body["event_source_id"] == .string(TestEnvironment.pixelCode) })
        }
        let outbox = SQLiteOutbox(database: try SQLiteDatabase(path: database))
        #expect(try await outbox.pendingCount() == 0)
    }
}
