import Foundation
import HTTPTypes
import Logging
import Synchronization
import Testing

@testable import PixelEdgeAdministration
@testable import PixelEdgeCore
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeSQLite
@testable import PixelEdgeTestSupport

/// Meta as a second destination of a pixel: one collected event queued once for TikTok and once for Meta,
/// each copy sent by its own forwarder to its own fake (which judges as the platform does), and neither
/// platform's outage, pause or refusals reaching the other's deliveries.
@Suite struct MetaDestinationTests {
    let directory: TemporaryDirectory
    let database: SQLiteDatabase
    let store: SQLitePixelStore
    let outbox: SQLiteOutbox
    let tiktokAPI = FakeEventsAPI()
    let metaAPI: FakeGraphAPI
    let metrics = PixelEdgeMetrics()
    let depth: OutboxDepth
    let shop = try! PixelID(validating: "shop")
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    init() throws {
        self.directory = try TemporaryDirectory()
        self.database = try SQLiteDatabase(path: self.directory.path("relay.sqlite"))
        self.store = SQLitePixelStore(database: self.database)
        self.outbox = SQLiteOutbox(database: self.database)
        self.depth = OutboxDepth(metrics: self.metrics)
        self.metaAPI = FakeGraphAPI(now: self.t0)
    }

    @discardableResult
    func configure(metaToken: String = TestEnvironment.metaAccessToken, metaTestCode: String? = nil) async throws -> PixelConfig {
        try await self.store.save(
            PixelEdit(
                pixelCode: .set(try TikTokPixelCode.parse(TestEnvironment.pixelCode).value),
                accessToken: .set(try TikTokAccessToken.parse(TestEnvironment.accessToken).value),
                meta: MetaEdit(
                    pixelID: .set(try MetaPixelID.parse(TestEnvironment.metaPixelID).value),
                    accessToken: .set(try MetaAccessToken.parse(metaToken).value),
                    testEventCode: metaTestCode.map { .set(try! MetaTestEventCode.parse($0).value) } ?? .clear
                )
            ),
            for: self.shop, now: self.t0
        ).pixel
    }

    /// A purchase as pb.js sends it: both platforms' hashes, Meta's browser ids, TikTok's click id.
    func event(_ id: String, name: String = "CompletePayment", userAgent: String? = "Mozilla/5.0") -> CollectedEvent {
        CollectedEvent(
            pixel: self.shop, event: name, eventID: id, eventTime: Int64(self.t0.timeIntervalSince1970) - 60,
            properties: [
                "value": .number(42), "currency": .string("EUR"), "order_id": .string("o-1"),
                "contents": .array([.object(["content_id": .string("sku-1"), "price": .number(21), "quantity": .number(2)])]),
            ],
            ttclid: "E.C.P.click", ttp: "ttp-1", emailHash: String(repeating: "ab", count: 32), phoneHash: String(repeating: "cd", count: 32),
            externalIDHash: String(repeating: "ef", count: 32), url: "https://shop.example/thanks", ip: "203.0.113.9", userAgent: userAgent,
            metaPhoneHash: String(repeating: "12", count: 32), metaExternalIDHash: String(repeating: "34", count: 32),
            fbp: "fb.1.1799999000000.123456789", fbc: "fb.1.1799999000000.IwAR_Click-Id"
        )
    }

    /// Queued as /collect queues them: one copy per destination the pixel has.
    func collect(_ events: [CollectedEvent]) async throws {
        let pixel = try #require(try await self.store.pixel(self.shop))
        let destinations = EventCopies.destinations(of: pixel)
        #expect(destinations == [.tiktok, .meta])
        try await self.outbox.append(events.flatMap { EventCopies.copies(of: $0, to: destinations) }, now: self.t0)
    }

    func forwarders(tiktok: String, meta: String) -> (EventForwarder<EventsAPIClient>, EventForwarder<ConversionsAPIClient>) {
        var settings = ForwarderSettings()
        settings.backoffBase = .seconds(10)
        return (
            EventForwarder(
                outbox: self.outbox, store: self.store, client: EventsAPIClient(base: tiktok), settings: settings, depth: self.depth,
                metrics: self.metrics, logger: TestEnvironment.logger
            ),
            EventForwarder(
                outbox: self.outbox, store: self.store, client: ConversionsAPIClient(base: meta, version: try! MetaAPIVersion("v26.0")), settings: settings,
                depth: self.depth, metrics: self.metrics, logger: TestEnvironment.logger
            )
        )
    }

    /// Both fakes up for the duration of `body`.
    func withFakes(_ body: @escaping @Sendable (String, String) async throws -> Void) async throws {
        try await self.tiktokAPI.run { tiktok in
            try await self.metaAPI.run { meta in try await body(tiktok, meta) }
        }
    }

    func status(_ destination: DestinationID) async throws -> DeliveryStatus? {
        try await self.outbox.status(of: DeliveryKey(self.shop, destination))
    }

    func counts(_ destination: DestinationID) async throws -> (queued: Int, failed: Int) {
        try await self.outbox.counts(of: DeliveryKey(self.shop, destination))
    }

    @Test func oneEventReachesBothAPIsWithOneEventIDEachInItsPlatformsWords() async throws {
        try await self.configure(metaTestCode: "TEST12345")
        try await self.collect([self.event("e-1")])
        try await self.withFakes { tiktok, meta in
            let (toTikTok, toMeta) = self.forwarders(tiktok: tiktok, meta: meta)
            await toTikTok.forwardDue(now: self.t0)
            await toMeta.forwardDue(now: self.t0)
        }
        let tiktokEvent = try #require(self.tiktokAPI.requests.first?.data.first)
        #expect(tiktokEvent["event"] == .string("CompletePayment"))
        let request = try #require(self.metaAPI.requests.first)
        #expect(request.accepted)
        #expect(request.path == "/v26.0/\(TestEnvironment.metaPixelID)/events")
        // The token only in the Authorization header: never in the URL, which logs name.
        #expect(!request.query.contains(TestEnvironment.metaAccessToken) && !request.path.contains(TestEnvironment.metaAccessToken))
        #expect(request.body["test_event_code"] == .string("TEST12345"))
        let metaEvent = try #require(request.data.first)
        #expect(metaEvent["event_id"] == tiktokEvent["event_id"])
        #expect(metaEvent["event_name"] == .string("Purchase"))
        #expect(metaEvent["action_source"] == .string("website"))
        #expect(metaEvent["event_time"] == .number(self.t0.timeIntervalSince1970 - 60))
        let user = try #require(metaEvent["user_data"])
        #expect(user["em"] == .array([.string(String(repeating: "ab", count: 32))]))
        // Meta's own phone and external-id hashes, never TikTok's (the normalisations differ).
        #expect(user["ph"] == .array([.string(String(repeating: "12", count: 32))]))
        #expect(user["external_id"] == .array([.string(String(repeating: "34", count: 32))]))
        #expect(user["fbp"] == .string("fb.1.1799999000000.123456789") && user["fbc"] == .string("fb.1.1799999000000.IwAR_Click-Id"))
        #expect(user["client_ip_address"] == .string("203.0.113.9") && user["client_user_agent"] == .string("Mozilla/5.0"))
        #expect(user["ttp"] == nil && user["ttclid"] == nil)
        let custom = try #require(metaEvent["custom_data"])
        #expect(custom["value"] == .number(42) && custom["currency"] == .string("EUR") && custom["order_id"] == .string("o-1"))
        #expect(custom["contents"] == .array([.object(["id": .string("sku-1"), "item_price": .number(21), "quantity": .number(2)])]))
        #expect(try await self.counts(.tiktok).queued == 0)
        #expect(try await self.counts(.meta).queued == 0)
        #expect(try await self.status(.meta)?.state == .ok)
        let exposition = self.metrics.exposition()
        #expect(exposition.contains(#"pixeledge_events_forwarded_total{destination="meta"} 1"#))
        #expect(exposition.contains(#"pixeledge_events_forwarded_total{destination="tiktok"} 1"#))
    }

    @Test func aMetaOutageLeavesTikToksDeliveriesUntouchedAndItsEventsWait() async throws {
        try await self.configure()
        try await self.collect((1...3).map { self.event("e-\($0)") })
        self.metaAPI.answer { _ in .error(2, status: .internalServerError, "Service temporarily unavailable") }
        try await self.withFakes { tiktok, meta in
            let (toTikTok, toMeta) = self.forwarders(tiktok: tiktok, meta: meta)
            await toMeta.forwardDue(now: self.t0)
            await toTikTok.forwardDue(now: self.t0)
            #expect(self.tiktokAPI.requests.flatMap(\.eventIDs) == ["e-1", "e-2", "e-3"])
            #expect(try await self.counts(.tiktok).queued == 0)
            #expect(try await self.counts(.meta).queued == 3)
            let status = try #require(try await self.status(.meta))
            #expect(status.state == .metaError)
            #expect(status.explanation(destination: .meta, pixelCode: TestEnvironment.metaPixelID).hasPrefix("Meta's Conversions API answered with an error of its own"))
            #expect(try await self.status(.tiktok)?.state == .ok)
            // Back: the same events, with their ids, once the backoff has passed.
            self.metaAPI.answer { _ in nil }
            await toMeta.forwardDue(now: self.t0.addingTimeInterval(3600))
            #expect(self.metaAPI.receivedEventIDs == ["e-1", "e-2", "e-3"])
            #expect(try await self.counts(.meta).queued == 0)
        }
    }

    @Test func anInvalidTokenPausesMetaOnlyUntilThePixelChanges() async throws {
        try await self.configure(metaToken: "EAAB-an-old-token-that-Meta-no-longer-accepts")
        try await self.collect([self.event("e-1"), self.event("e-2")])
        try await self.withFakes { tiktok, meta in
            let (toTikTok, toMeta) = self.forwarders(tiktok: tiktok, meta: meta)
            await toMeta.forwardDue(now: self.t0)
            await toTikTok.forwardDue(now: self.t0)
            let status = try #require(try await self.status(.meta))
            #expect(status.state == .invalidAccessToken && status.pausedAtVersion != nil)
            #expect(status.explanation(destination: .meta, pixelCode: TestEnvironment.metaPixelID).contains("Generate a new one in Events Manager"))
            #expect(try await self.counts(.meta).queued == 2)
            #expect(try await self.counts(.tiktok).queued == 0)
            // Paused: no second request until the configuration changes.
            await toMeta.forwardDue(now: self.t0.addingTimeInterval(3600))
            #expect(self.metaAPI.requests.count == 1)
            try await self.configure()
            await toMeta.forwardDue(now: self.t0.addingTimeInterval(3600))
            #expect(self.metaAPI.receivedEventIDs == ["e-1", "e-2"])
        }
    }

    @Test func oneInvalidEventRejectsMetasBatchAndIsIsolatedWhileTheOthersGo() async throws {
        try await self.configure()
        // Meta refuses a website event without the browser's User-Agent, and with it the whole batch.
        try await self.collect([self.event("e-1"), self.event("e-bad", userAgent: nil), self.event("e-3"), self.event("e-4")])
        try await self.withFakes { tiktok, meta in
            let (toTikTok, toMeta) = self.forwarders(tiktok: tiktok, meta: meta)
            await toMeta.forwardDue(now: self.t0)
            await toTikTok.forwardDue(now: self.t0)
        }
        #expect(Set(self.metaAPI.receivedEventIDs) == ["e-1", "e-3", "e-4"])
        #expect(try await self.counts(.meta) == (queued: 0, failed: 1))
        // TikTok took all four: the User-Agent is not required there.
        #expect(try await self.counts(.tiktok) == (queued: 0, failed: 0))
        let refused = try await self.outbox.recentEvents(of: self.shop, limit: 20).filter { $0.destination == .meta && $0.state == .failed }
        #expect(refused.map(\.eventID) == ["e-bad"])
        #expect(refused.first?.errorCode == 100)
        #expect(refused.first?.errorMessage?.contains("client_user_agent is required") == true)
    }

    @Test(arguments: [4, 17, 32, 341, 613])
    func throttlingKeepsTheEventsAndBacksOff(code: Int) async throws {
        try await self.configure()
        try await self.collect([self.event("e-1")])
        self.metaAPI.answer { _ in .error(code, status: .badRequest, "Application request limit reached") }
        try await self.metaAPI.run { meta in
            let (_, toMeta) = self.forwarders(tiktok: TestEnvironment.closedEventsAPIBase, meta: meta)
            await toMeta.forwardDue(now: self.t0)
            // Due again only after the backoff: a pass right away sends nothing.
            await toMeta.forwardDue(now: self.t0.addingTimeInterval(1))
        }
        #expect(self.metaAPI.requests.count == 1)
        #expect(try await self.status(.meta)?.state == .rateLimited)
        #expect(try await self.counts(.meta) == (queued: 1, failed: 0))
        #expect(self.metrics.exposition().contains(#"pixeledge_events_api_answers_total{destination="meta",code="\#(code)"} 1"#))
    }

    @Test func aCodeMetaHasNotDocumentedKeepsEveryEvent() async throws {
        try await self.configure()
        try await self.collect([self.event("e-1")])
        self.metaAPI.answer { _ in .error(98765, "Something new") }
        try await self.metaAPI.run { meta in
            let (_, toMeta) = self.forwarders(tiktok: TestEnvironment.closedEventsAPIBase, meta: meta)
            await toMeta.forwardDue(now: self.t0)
        }
        let status = try #require(try await self.status(.meta))
        #expect(status.state == .unexpectedAnswer)
        #expect(status.explanation(destination: .meta, pixelCode: TestEnvironment.metaPixelID).hasPrefix("Meta answered an unexpected code 98765"))
        #expect(try await self.counts(.meta) == (queued: 1, failed: 0))
    }

    @Test func eventsOlderThanMetasWeekAreNeverSent() async throws {
        try await self.configure()
        try await self.collect([self.event("e-old")])
        try await self.metaAPI.run { meta in
            let (_, toMeta) = self.forwarders(tiktok: TestEnvironment.closedEventsAPIBase, meta: meta)
            // Past the maximum event age (48 hours by default, never over 7 days): expired, not sent.
            await toMeta.forwardDue(now: self.t0.addingTimeInterval(3 * 86400))
        }
        #expect(self.metaAPI.requests.isEmpty)
        #expect(try await self.counts(.meta).queued == 0)
        #expect(try await self.status(.meta)?.expired == 1)
    }

    @Test func savingVerifiesEachDestinationAndRecordsMetasAnswer() async throws {
        try await self.withFakes { tiktok, meta in
            let administration = PixelAdministration(
                store: self.store, deliveries: self.outbox, history: self.outbox,
                verification: PixelVerification(
                    test: ConnectionTest(tiktok: EventsAPIClient(base: tiktok), meta: ConversionsAPIClient(base: meta)), statuses: self.outbox
                ),
                logger: TestEnvironment.logger
            )
            let edit = PixelEdit(
                meta: MetaEdit(
                    pixelID: .set(try MetaPixelID.parse(TestEnvironment.metaPixelID).value),
                    accessToken: .set(try MetaAccessToken.parse(TestEnvironment.metaAccessToken).value)
                )
            )
            let saved = try await administration.save(edit, for: self.shop, verify: true, now: self.t0)
            let verification = try #require(saved.verifications[.meta])
            #expect(verification.ok && verification.destination == "meta" && !verification.testEvent)
            #expect(verification.explanation.hasPrefix("Meta accepted the pixel ID \(TestEnvironment.metaPixelID) and the access token."))
            // Without a Test Event Code, a read of the pixel: nothing recorded at Meta.
            #expect(self.metaAPI.requests.map(\.method) == ["GET"])
            #expect(try await self.status(.meta)?.state == .ok)
            let json = try PixelDocument.json(saved.document)
            #expect(json.contains(#""status" : "ok""#) && !json.contains(TestEnvironment.metaAccessToken))

            // A wrong pixel ID: Meta says it does not exist for this token; the card says where to look.
            let wrong = PixelEdit(meta: MetaEdit(pixelID: .set(try MetaPixelID.parse("1111111111111111").value)))
            let again = try await administration.save(wrong, for: self.shop, verify: true, now: self.t0)
            let refused = try #require(again.verifications[.meta])
            #expect(!refused.ok && refused.status == .invalidPixelCode && refused.code == 100)
            #expect(refused.explanation.contains("Check the pixel (dataset) ID in Events Manager > Data sources"))

            // With a Test Event Code, one test event, shown in Meta's Test events.
            let withCode = PixelEdit(
                meta: MetaEdit(pixelID: .set(try MetaPixelID.parse(TestEnvironment.metaPixelID).value), testEventCode: .set(try MetaTestEventCode.parse("TEST4242").value))
            )
            let tested = try await administration.save(withCode, for: self.shop, verify: true, now: Date())
            #expect(tested.verifications[.meta]?.ok == true && tested.verifications[.meta]?.testEvent == true)
            let last = try #require(self.metaAPI.requests.last)
            #expect(last.method == "POST" && last.body["test_event_code"] == .string("TEST4242") && last.data.count == 1)
        }
    }
}
