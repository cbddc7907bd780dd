import Foundation
import HTTPTypes
import Logging
import Testing

@testable import PixelEdgeApp
@testable import PixelEdgeHTTP
@testable import PixelEdgeAdministration
@testable import PixelEdgeCore
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite
@testable import PixelEdgeTestSupport

/// Every answer of `TikTokAnswerCode`'s table (and HTTP's, and one nobody knows) against the forwarder: what
/// happens to a batch's events and to the pixel's status. The fake answers as TikTok does: the batch that
/// holds the bad event gets the code, every other batch is accepted.
@Suite struct EventsAPIAnswerTableTests {
    /// What the operator sees happen to a batch of three events, one of them (`bad`) the cause.
    enum Fate: Equatable {
        /// Accepted at once.
        case delivered
        /// The bad event failed with the code, the two others delivered.
        case badEventFailed
        /// All kept and retried later, the status says why.
        case retried(DeliveryStatus.State)
        /// All kept, the pixel paused until its configuration changes.
        case paused(DeliveryStatus.State)
    }

    /// Written out rather than read from the table: this is what the issue and the README promise.
    static let expected: [Int: (message: String, fate: Fate)] = [
        0: ("OK", .delivered),
        20001: ("Partial success", .badEventFailed),
        40000: ("Invalid Price Field", .badEventFailed),
        40001: ("No permission to operate pixel", .paused(.noPermission)),
        40002: ("Invalid value for event_id: not a valid string.", .badEventFailed),
        40061: ("Invalid batch size", .badEventFailed),
        40062: ("PII not hashed", .badEventFailed),
        40100: ("Too many requests", .retried(.rateLimited)),
        40102: ("Access token has expired", .paused(.accessTokenExpired)),
        40104: ("Access token is empty", .paused(.accessTokenMissing)),
        40105: ("Access token is incorrect or has been revoked.", .paused(.invalidAccessToken)),
        40132: ("Request frequency limited", .retried(.rateLimited)),
        50000: ("System error", .retried(.tiktokError)),
        50002: ("System timeout", .retried(.tiktokError)),
        60001: ("System maintenance", .retried(.maintenance)),
        61000: ("Too many requests", .retried(.rateLimited)),
        12345: ("Something new", .retried(.unexpectedAnswer)),
    ]

    let directory: TemporaryDirectory
    let database: SQLiteDatabase
    let store: SQLitePixelStore
    let outbox: SQLiteOutbox
    let fake = FakeEventsAPI()
    let metrics = PixelEdgeMetrics()
    let shop = try! PixelID(validating: "shop")
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    init() throws {
        self.directory = try TemporaryDirectory()
        self.database = try SQLiteDatabase(path: self.directory.path("answers.sqlite"))
        self.store = SQLitePixelStore(database: self.database)
        self.outbox = SQLiteOutbox(database: self.database)
    }

    func configure(token: String = TestEnvironment.accessToken) async throws {
        _ = try await self.store.save(
            PixelEdit(pixelCode: .set(try TikTokPixelCode.parse(TestEnvironment.pixelCode).value), accessToken: .set(try TikTokAccessToken.parse(token).value)),
            for: self.shop
        )
    }

    func event(_ id: String) -> CollectedEvent {
        CollectedEvent(pixel: self.shop, event: "Purchase", eventID: id, eventTime: 1_800_000_000, url: "https://shop.example/thanks", userAgent: "Mozilla/5.0")
    }

    func forwarder(_ base: String, logger: Logger = TestEnvironment.logger) -> EventForwarder<EventsAPIClient> {
        var settings = ForwarderSettings()
        settings.backoffBase = .seconds(10)
        return EventForwarder(
            outbox: self.outbox, store: self.store, client: EventsAPIClient(base: base), settings: settings,
            depth: OutboxDepth(metrics: self.metrics), metrics: self.metrics, logger: logger
        )
    }

    /// The event ids TikTok accepted, in every request.
    var acceptedIDs: [String] { self.fake.requests.flatMap { $0.accepted ? $0.eventIDs : [] } }

    @Test func everyCodeOfTheTableIsCovered() {
        #expect(Set(TikTokAnswerCode.table.map(\.code)).isSubset(of: Set(Self.expected.keys)))
        #expect(Self.expected.keys.contains { TikTokAnswerCode.known($0) == nil }, "and one code the table does not know")
    }

    @Test(arguments: Self.expected.keys.sorted())
    func whatHappensToTheBatch(code: Int) async throws {
        let (message, fate) = try #require(Self.expected[code])
        try await self.configure()
        try await self.outbox.append([self.event("e1"), self.event("bad"), self.event("e3")], now: self.t0)
        try await self.fake.run { base in
            let forwarder = self.forwarder(base)
            self.fake.answer(with: FakeEventsAPI.Answer.refusing(code == 0 ? [] : ["bad"], with: code, message: message))
            await forwarder.forwardDue(now: self.t0)
            let status = try #require(try await self.outbox.status(of: self.shop))
            switch fate {
            case .delivered:
                #expect(Set(self.acceptedIDs) == ["e1", "bad", "e3"])
                #expect(status.state == .ok)
            case .badEventFailed:
                #expect(Set(self.acceptedIDs) == ["e1", "e3"])
                #expect(try await self.outbox.counts(of: self.shop) == (queued: 0, failed: 1))
                #expect(try await self.outbox.eventIDs(of: self.shop) == ["bad"])
                #expect(status.lastError?.code == code)
                #expect(status.state == .ok, "the pixel itself is fine")
            case .retried(let state), .paused(let state):
                #expect(self.acceptedIDs.isEmpty)
                #expect(try await self.outbox.counts(of: self.shop) == (queued: 3, failed: 0), "every event is kept")
                #expect(status.state == state)
                #expect(status.lastError?.code == code)
                #expect(status.explanation(pixelCode: TestEnvironment.pixelCode).contains(message))
                // Not sent again at once: after a backoff, or after the configuration changed.
                await forwarder.forwardDue(now: self.t0.addingTimeInterval(1))
                #expect(self.fake.requests.count == 1)
                if case .paused = fate {
                    #expect(status.pausedAtVersion == 1)
                    await forwarder.forwardDue(now: self.t0.addingTimeInterval(7200))
                    #expect(self.fake.requests.count == 1, "a paused pixel waits for a person")
                    try await self.configure(token: String(repeating: "n", count: 64))
                } else {
                    #expect(status.pausedAtVersion == nil)
                }
                // TikTok takes them later: each delivered once.
                self.fake.answer { _ in .ok }
                await forwarder.forwardDue(now: self.t0.addingTimeInterval(7200))
                #expect(self.acceptedIDs.sorted() == ["bad", "e1", "e3"])
                #expect(try await self.outbox.pendingCount() == 0)
                #expect(try await self.outbox.status(of: self.shop)?.state == .ok)
            }
        }
        let label = TikTokAnswerCode.known(code) == nil ? "unexpected" : String(code)
        #expect(self.metrics.exposition().contains(#"pixeledge_events_api_answers_total{destination="tiktok",code="\#(label)"}"#))
    }

    @Test func aPartialSuccessThatNamesItsRefusedEventsDeliversTheOthersExactlyOnce() async throws {
        try await self.configure()
        try await self.outbox.append((1...5).map { self.event("e\($0)") }, now: self.t0)
        try await self.fake.run { base in
            let forwarder = self.forwarder(base)
            self.fake.answer { _ in .partial(refusing: [(1, 40002, "Invalid value for price"), (3, 40062, "email is not hashed")]) }
            await forwarder.forwardDue(now: self.t0)
            self.fake.answer { _ in .ok }
            await forwarder.forwardDue(now: self.t0.addingTimeInterval(60))
            await forwarder.forwardDue(now: self.t0.addingTimeInterval(3600))
        }
        #expect(self.fake.requests.count == 1, "nothing is sent again: TikTok took e1, e3 and e5 with the first request")
        #expect(try await self.outbox.counts(of: self.shop) == (queued: 0, failed: 2))
        let recent = try await self.outbox.recentEvents(of: self.shop, limit: 10)
        let failed = Dictionary(uniqueKeysWithValues: recent.filter { $0.state == .failed }.map { ($0.eventID, ($0.errorCode, $0.errorMessage)) })
        #expect(failed["e2"]?.0 == 40002)
        #expect(failed["e2"]?.1 == "Invalid value for price")
        #expect(failed["e4"]?.0 == 40062)
        let status = try #require(try await self.outbox.status(of: self.shop))
        #expect(status.sent == 3)
        #expect(status.failed == 2)
    }

    @Test func aPartialSuccessNamingEventsNotInTheBatchIsNotTrusted() async throws {
        try await self.configure()
        try await self.outbox.append([self.event("e1"), self.event("bad")], now: self.t0)
        try await self.fake.run { base in
            // Index 7 is not in a batch of two: the refused events are found by isolation instead.
            self.fake.answer { request in
                request.eventIDs.contains("bad") ? .partial(refusing: [(7, 40002, "?")]) : .ok
            }
            await self.forwarder(base).forwardDue(now: self.t0)
        }
        #expect(self.acceptedIDs == ["e1"])
        #expect(try await self.outbox.eventIDs(of: self.shop) == ["bad"])
    }

    @Test func a40000NamingThePixelCodePausesAndOneNamingAFieldIsolates() async throws {
        try await self.configure()
        try await self.outbox.append([self.event("e1"), self.event("bad")], now: self.t0)
        try await self.fake.run { base in
            let forwarder = self.forwarder(base)
            self.fake.answer(with: FakeEventsAPI.Answer.refusing(["bad"], with: 40000, message: "pixel_code is invalid"))
            await forwarder.forwardDue(now: self.t0)
        }
        #expect(try await self.outbox.status(of: self.shop)?.state == .invalidPixelCode)
        #expect(try await self.outbox.counts(of: self.shop) == (queued: 2, failed: 0))
        #expect(TikTokAnswerCode.action(for: 40000, message: "Invalid event_source_id") == .pause(.invalidPixelCode))
        #expect(TikTokAnswerCode.action(for: 40000, message: "Invalid Price Field") == .refuseEvents)
        #expect(TikTokAnswerCode.action(for: 40000, message: "properties.contents[0].quantity must be a number") == .refuseEvents)
    }

    @Test func anUnknownCodeIsLoggedOnceAndSaidInTheStatus() async throws {
        try await self.configure()
        try await self.outbox.append([self.event("e1")], now: self.t0)
        let log = LogRecorder()
        try await self.fake.run { base in
            let forwarder = self.forwarder(base, logger: log.logger)
            self.fake.answer { _ in .code(47777, "A brand new refusal") }
            for pass in 0..<4 {
                await forwarder.forwardDue(now: self.t0.addingTimeInterval(Double(pass) * 1000))
            }
        }
        #expect(self.fake.requests.count == 4)
        #expect(log.logged.filter { $0.message.contains("does not know") }.count == 1)
        let status = try #require(try await self.outbox.status(of: self.shop))
        #expect(status.explanation(pixelCode: TestEnvironment.pixelCode).hasPrefix("TikTok answered an unexpected code 47777: A brand new refusal."))
        #expect(try await self.outbox.counts(of: self.shop) == (queued: 1, failed: 0))
        #expect(self.metrics.exposition().contains(#"pixeledge_events_api_answers_total{destination="tiktok",code="unexpected"} 4"#))
    }

    /// A Retry-After no real answer says (from ~9.22e15 s on, a Double no Int64 holds) once crashed the node
    /// in the outbox's retry, and again on every start while the event was queued.
    @Test(arguments: ["9223372036854775807", "99999999999999999999999999", "1e400", "-5", "Fri, 31 Dec 9999 23:59:59 GMT"])
    func anyRetryAfterIsClampedWhereItEnters(value: String) async throws {
        try await self.configure()
        try await self.outbox.append([self.event("e1")], now: self.t0)
        try await self.fake.run { base in
            let forwarder = self.forwarder(base)
            self.fake.answer { _ in .init(status: .tooManyRequests, body: "slow down", headers: [.retryAfter: value]) }
            await forwarder.forwardDue(now: self.t0)
            self.fake.answer { _ in .ok }
            // At most an hour (`maximumRetryAfter`), or the backoff when the value is not one.
            await forwarder.forwardDue(now: self.t0.addingTimeInterval(3601))
        }
        #expect(self.fake.requests.count == 2)
        #expect(try await self.outbox.pendingCount() == 0)
        if let delay = EventsAPIAnswer.retryAfter(value) {
            #expect(delay <= EventsAPIAnswer.maximumRetryAfter && delay >= .zero)
        }
    }
}
