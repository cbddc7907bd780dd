import Testing

@testable import PixelEdgeCore
@testable import PixelEdgeRelay

/// The forwarder's queue of pixels waiting for a pass slot.
@Suite struct PixelPassQueueTests {
    let pixels = (0..<6).map { DueDelivery(DeliveryKey(try! PixelID(validating: "p\($0)"), .tiktok)) }

    @Test func pixelsStartInTheOrderTheyBecameDueWithinTheSlots() {
        var queue = PixelPassQueue()
        queue.add(self.pixels[0..<4])
        #expect(queue.start(slots: 2) == self.pixels[0])
        #expect(queue.start(slots: 2) == self.pixels[1])
        #expect(queue.start(slots: 2) == nil)
        queue.finished(self.pixels[0].pixel)
        #expect(queue.start(slots: 2) == self.pixels[2])
        #expect(queue.running == [self.pixels[1].pixel, self.pixels[2].pixel])
        #expect(queue.waitingCount == 1)
    }

    @Test func aPixelDueAgainIsQueuedOnceAndNeverWhileItsPassRuns() {
        var queue = PixelPassQueue()
        queue.add([self.pixels[0], self.pixels[1]])
        #expect(queue.start(slots: 1) == self.pixels[0])
        // The next window finds both due again: the running one is not queued, the waiting one not twice.
        queue.add([self.pixels[0], self.pixels[1], self.pixels[2], self.pixels[1]])
        #expect(queue.waitingCount == 2)
        queue.finished(self.pixels[0].pixel)
        #expect(queue.start(slots: 1) == self.pixels[1])
        queue.finished(self.pixels[1].pixel)
        #expect(queue.start(slots: 1) == self.pixels[2])
        queue.finished(self.pixels[2].pixel)
        #expect(queue.start(slots: 1) == nil)
        // Once its pass ended, a pixel due again is queued again.
        queue.add([self.pixels[0]])
        #expect(queue.start(slots: 1) == self.pixels[0])
    }

    @Test func atShutdownTheWaitingAreDroppedAndTheRunningStillEnd() {
        var queue = PixelPassQueue()
        queue.add(self.pixels)
        #expect(queue.start(slots: 2) == self.pixels[0])
        queue.dropWaiting()
        #expect(queue.start(slots: 2) == nil)
        #expect(queue.running == [self.pixels[0].pixel])
        queue.finished(self.pixels[0].pixel)
        #expect(queue.running.isEmpty)
        // A pixel dropped is not remembered as queued: added again, it waits again.
        queue.add([self.pixels[3]])
        #expect(queue.start(slots: 2) == self.pixels[3])
    }

    /// A waiting delivery found due again keeps its place and takes what the newer window read.
    @Test func aWaitingDeliveryTakesTheNewerWindowsOutlook() {
        let shop = DeliveryKey(try! PixelID(validating: "shop"), .tiktok)
        var queue = PixelPassQueue()
        queue.add([DueDelivery(shop), self.pixels[0]])
        queue.add([self.pixels[0], DueDelivery(shop, hasSuspects: true, pausedAtVersion: 3)])
        #expect(queue.start(slots: 2) == DueDelivery(shop, hasSuspects: true, pausedAtVersion: 3))
        #expect(queue.start(slots: 2) == self.pixels[0])
    }

    @Test func noSlotsStillMeansOnePass() {
        var queue = PixelPassQueue()
        queue.add(self.pixels[0..<2])
        #expect(queue.start(slots: 0) == self.pixels[0])
        #expect(queue.start(slots: 0) == nil)
    }

    /// Many pixels due at every window: each is queued once, and all of them start in order.
    @Test func twentyThousandPixelsDueAtEveryWindow() throws {
        let many = try (0..<20_000).map { DueDelivery(DeliveryKey(try PixelID(validating: "seed-\($0)"), .tiktok)) }
        var queue = PixelPassQueue()
        for _ in 0..<5 { queue.add(many) }
        #expect(queue.waitingCount == many.count)
        var started: [DueDelivery] = []
        while let due = queue.start(slots: 16) {
            started.append(due)
            queue.finished(due.pixel)
        }
        #expect(started == many)
    }
}
