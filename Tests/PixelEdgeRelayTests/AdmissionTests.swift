import Testing

@testable import PixelEdgeCore
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay
@testable import PixelEdgeTestSupport

/// The outbox's room shared fairly: one pixel cannot take more than its share, one client address no more
/// than its rate. Time is passed in: the token buckets are tested without waiting.
@Suite struct AdmissionTests {
    let shop = try! PixelID(validating: "shop")
    let other = try! PixelID(validating: "other")
    let t0 = ContinuousClock.now

    func admission(outboxLimit: Int = 100_000) -> (Admission, OutboxDepth) {
        let depth = OutboxDepth(metrics: PixelEdgeMetrics())
        return (Admission(limits: AdmissionLimits(outboxLimit: outboxLimit), depth: depth), depth)
    }

    @Test func theLimitsAreSizedFromTheOutbox() {
        let limits = AdmissionLimits(outboxLimit: 100_000)
        #expect(limits.pixelShare == 50_000)
        #expect(limits.clientRate == 100)
        #expect(limits.clientBurst == 1_000)
        let small = AdmissionLimits(outboxLimit: 1)
        #expect(small.pixelShare == 1 && small.clientRate == 10 && small.clientBurst == 100)
    }

    @Test func aClientHasABurstThenItsRate() throws {
        let (admission, _) = self.admission()
        for _ in 0..<1000 { try admission.admit(self.shop, client: "203.0.113.9", now: self.t0) }
        #expect(throws: AdmissionRefusal.clientRate(retryAfter: .milliseconds(10))) { try admission.admit(self.shop, client: "203.0.113.9", now: self.t0) }
        // Another address is not held back, for any pixel.
        try admission.admit(self.other, client: "203.0.113.10", now: self.t0)
        // A second later: 100 more, then refused again.
        let later = self.t0.advanced(by: .seconds(1))
        for _ in 0..<100 { try admission.admit(self.shop, client: "203.0.113.9", now: later) }
        do {
            try admission.admit(self.shop, client: "203.0.113.9", now: later)
            Issue.record("admitted past the rate")
        } catch {
            #expect(error.reason == "client_rate")
            #expect(error.retryAfterSeconds == 1)
        }
    }

    @Test func onePixelCannotTakeMoreThanItsShareNorTheOutboxMoreThanItsLimit() async throws {
        let (admission, depth) = self.admission(outboxLimit: 1000)
        depth.added([self.shop: 499])
        try admission.admit(self.shop, client: nil, now: self.t0)
        depth.added([self.shop: 1])
        #expect(throws: AdmissionRefusal.pixelShare(pixel: self.shop, depth: 500, share: 500)) { try admission.admit(self.shop, client: nil, now: self.t0) }
        try admission.admit(self.other, client: nil, now: self.t0)
        depth.added([self.other: 500])
        #expect(throws: AdmissionRefusal.outboxFull(depth: 1000, limit: 1000)) { try admission.admit(self.other, client: nil, now: self.t0) }
        // Delivered events make room again.
        depth.removed(100, of: self.shop)
        try admission.admit(self.shop, client: nil, now: self.t0)
        // A recount from the store replaces what was kept.
        await depth.recount { [self.other: 10] }
        #expect(depth.value == 10 && depth.value(of: self.shop) == 0)
    }

    @Test func trackedClientsStayBounded() throws {
        var limits = AdmissionLimits(outboxLimit: 100_000)
        limits.trackedClients = 100
        let admission = Admission(limits: limits, depth: OutboxDepth(metrics: PixelEdgeMetrics()))
        // A flood of addresses, each spending one token: none is idle, so the table is emptied when full.
        for index in 0..<1000 { try admission.admit(self.shop, client: "198.51.100.\(index)", now: self.t0) }
        #expect(admission.trackedCount <= 100)
    }
}
