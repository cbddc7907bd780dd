import Testing

@testable import PixelEdgeCore
@testable import PixelEdgeMetrics
@testable import PixelEdgeRelay

/// The outbox depth `/collect`'s admission reads, recounted from the store every window.
@Suite struct OutboxDepthTests {
    let shop = try! PixelID(validating: "shop")
    let other = try! PixelID(validating: "other")
    struct Unreadable: Error {}

    /// An event committed while the store is read may be missing from what the read returns: it must not
    /// be lost from the depth (each loss let one more event past a pixel's share under a flood).
    @Test func eventsAddedWhileTheStoreIsReadAreKept() async throws {
        let depth = OutboxDepth(metrics: PixelEdgeMetrics())
        await depth.recount { [self.shop: 10] }
        await depth.recount {
            // Committed after the read's snapshot: the store says 10, and 4 of the other pixel's.
            depth.added([self.shop: 1])
            return [self.shop: 10, self.other: 4]
        }
        #expect(depth.value(of: self.shop) == 11)
        #expect(depth.value(of: self.other) == 4)
        #expect(depth.value == 15)
        // Removals meanwhile wait for the next recount: never one too few.
        await depth.recount {
            depth.removed(2, of: self.other)
            return [self.shop: 11, self.other: 4]
        }
        #expect(depth.value(of: self.other) == 4)
        #expect(depth.value == 15)
    }

    @Test func aFailedReadChangesNothingAndRecordsNothingAfter() async throws {
        let depth = OutboxDepth(metrics: PixelEdgeMetrics())
        await depth.recount { [self.shop: 3] }
        await #expect(throws: Unreadable.self) {
            try await depth.recount {
                depth.added([self.shop: 1])
                throw Unreadable()
            }
        }
        #expect(depth.value(of: self.shop) == 4)
        depth.added([self.shop: 1])
        // The failed recount's additions are not carried into a later one.
        await depth.recount { [self.shop: 5] }
        #expect(depth.value(of: self.shop) == 5)
        #expect(depth.value == 5)
    }
}
