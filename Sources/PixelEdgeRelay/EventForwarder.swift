public import Foundation
public import Logging
public import PixelEdgeCore
public import PixelEdgeMetrics
public import ServiceLifecycle
import Synchronization

/// Sends one destination's deliveries in the outbox to its server API (`API`: TikTok's Events API, Meta's
/// Conversions API), per pixel, in batches, until the platform has accepted every event. Each destination
/// has a forwarder of its own, claiming only its own deliveries: one platform's outage, pause or refusals
/// never hold up another's.
///
/// Each answer is handled as the platform's table says (`TikTokAnswerCode`, `ConversionsAPIAnswer`), in
/// outcomes common to every destination:
/// - Transient failures (timeouts, 5xx, rate limits, maintenance, and any code the table does not know) are
///   retried with exponential backoff and jitter, honouring `Retry-After` (clamped); an unknown code is
///   logged the first time and shown in the status, and its events are kept.
/// - A pixel-level rejection (TikTok: 40000 naming the Pixel Code; 40001, 40102, 40104, 40105 for the token;
///   Meta: 190, permission errors) pauses that pixel's destination, keeping its events, until its
///   configuration changes.
/// - A partial success (20001) delivers the events TikTok took once and fails the ones its answer names;
///   when it names none, the refused events are isolated as below.
/// - A batch refused for its content (TikTok's 40002 ..., Meta's 100) holds at least one bad event. Its events become suspects,
///   sent apart from new events so that one bad event cannot hold up the others twice, and split in halves
///   until each bad event is alone and marked failed; when both halves of a split are refused, bad events
///   are many and the rest is sent one by one, which costs fewer calls than halving further. Isolation
///   spends at most `isolationCallsPerPass` calls per pixel per pass: what is left waits for the next passes.
/// Expiry, pruning and recounting are `OutboxHousekeeping`'s, a service of its own on the same settings.
/// Delivery is at least once, always with the stored `event_id`, so the platform drops any repeat.
public struct EventForwarder<API: DestinationAPI>: Service {
    public typealias Settings = ForwarderSettings

    let outbox: any EventQueue & DeliveryStatusStore
    /// The deliveries this forwarder sends: its API's.
    var destination: DestinationID { API.destination }
    var apiName: String { API.name }
    /// The settings' batch size, within the platform's own limit.
    var batchSize: Int { max(1, min(self.settings.batchSize, API.maximumBatchSize)) }
    let store: any PixelStore
    /// The pixels in memory, when the node keeps them (`BundleCacheUpdater`'s): a pass reads its pixel there
    /// rather than from the store, which cost a query and a validation of the row per pass. A pixel it does
    /// not have (not loaded yet, just added) is read from the store, so that only the store says it is gone.
    let directory: PixelDirectory?
    let client: API
    let settings: ForwarderSettings
    let depth: OutboxDepth
    let metrics: PixelEdgeMetrics
    let logger: Logger
    /// The pixel passes whose sends failed for a transient reason, since the last summary logged.
    private let unavailable = UnavailableTally()
    /// Codes the platform answered that its table does not know, logged the first time only.
    private let unexpectedCodes = SeenOnce<Int>(limit: 100)

    public init(
        outbox: any EventQueue & DeliveryStatusStore, store: any PixelStore, directory: PixelDirectory? = nil, client: API, settings: ForwarderSettings = .init(),
        depth: OutboxDepth, metrics: PixelEdgeMetrics, logger: Logger
    ) {
        self.outbox = outbox
        self.store = store
        self.directory = directory
        self.client = client
        self.settings = settings
        self.depth = depth
        self.metrics = metrics
        self.logger = logger
    }

    /// Graceful shutdown ends the wait between passes, never a pass: a batch in flight is answered and
    /// recorded, so TikTok does not get it again at the next start.
    public func run() async {
        let longestPass = self.settings.longestPass(callTimeout: self.client.timeout)
        if self.settings.claimLease < longestPass {
            self.logger.warning(
                "the claim lease is shorter than a pass can take: when the \(self.apiName) is slow, passes stop at their claim's end and their events are retried",
                metadata: ["destination": "\(self.destination)", "claimLease": "\(self.settings.claimLease)", "longestPass": "\(longestPass)"]
            )
        }
        do {
            let released = try await self.outbox.releaseClaims(by: self.settings.node)
            if released > 0 {
                self.logger.notice("events this node had claimed before it stopped are due again", metadata: ["count": "\(released)"])
            }
        } catch {
            self.logger.error("cannot release this node's earlier claims; they are due when their leases end", metadata: ["error": "\(error)"])
        }
        await self.schedule()
    }

    /// What the scheduler's children report: a pixel's pass ended, or a window passed.
    private enum Step: Sendable {
        case finished(PixelID)
        case window
        case stop
    }

    /// The pixels' passes, each on its own: every window the due pixels not already being sent for are
    /// queued, and a queued pixel starts as soon as one of the `concurrency` slots is free. So a pixel whose
    /// Events API call hangs until its deadline holds its slot, never the other pixels (a pass that waited for
    /// all its pixels once held every pixel's events behind one slow answer).
    private func schedule() async {
        await withTaskGroup(of: Step.self) { group in
            var passes = PixelPassQueue()
            let window = self.settings.window
            group.addTask { await Self.wait(window) }
            while let step = await group.next() {
                switch step {
                case .finished(let pixel):
                    passes.finished(pixel)
                case .window:
                    passes.add(await self.dueDeliveries(now: Date()))
                    self.logUnavailable()
                    group.addTask { await Self.wait(window) }
                case .stop:
                    // On shutdown the sends in flight finish; no new one starts.
                    passes.dropWaiting()
                }
                while !Task.isShuttingDownGracefully, let due = passes.start(slots: self.settings.concurrency) {
                    group.addTask {
                        await self.forwardLogging(due, now: Date())
                        return .finished(due.pixel)
                    }
                }
            }
        }
    }

    /// `.window` after `window`, `.stop` at graceful shutdown.
    private static func wait(_ window: Duration) async -> Step {
        do {
            try await cancelWhenGracefulShutdown { try await Task.sleep(for: window) }
            return .window
        } catch {
            return .stop
        }
    }

    /// One pass over every pixel with events due at `now`, ended when every pixel's is: the scheduler's
    /// work without its clock, for tests (which run `OutboxHousekeeping.sweep` beside it).
    public func forwardPass(now: Date) async {
        await self.forwardEach(await self.dueDeliveries(now: now), now: now)
        self.logUnavailable()
    }

    private func dueDeliveries(now: Date) async -> [DueDelivery] {
        do {
            return try await self.outbox.dueDeliveries(to: self.destination, now: now)
        } catch {
            self.logger.error("cannot read the outbox", metadata: ["error": "\(error)"])
            return []
        }
    }

    /// One line for the pixels that could not reach the Events API since the last: an outage would
    /// otherwise log a line per pixel.
    private func logUnavailable() {
        if let (pixels, example) = self.unavailable.takeSummary() {
            self.logger.warning(
                "\(self.apiName) unavailable; the events will be retried",
                metadata: ["destination": "\(self.destination)", "pixels": "\(pixels)", "error": "\(example)"]
            )
        }
    }

    /// A pixel's pass; a failure (its store write) is logged and left for a later pass.
    private func forwardLogging(_ due: DueDelivery, now: Date) async {
        do {
            try await self.forward(due, now: now)
        } catch {
            self.logger.error("cannot forward the pixel's events", metadata: ["pixel": "\(due.pixel)", "destination": "\(self.destination)", "error": "\(error)"])
        }
    }

    /// Runs the pixels' passes, at most `concurrency` at a time, until each has ended.
    private func forwardEach(_ deliveries: [DueDelivery], now: Date) async {
        await withTaskGroup(of: Void.self) { group in
            var next = deliveries.makeIterator()
            for _ in 0..<max(1, self.settings.concurrency) {
                guard let due = next.next() else { break }
                group.addTask { await self.forwardLogging(due, now: now) }
            }
            // On shutdown the sends in flight finish; no new one starts (a pass over many pixels with an
            // Events API that times out would otherwise hold the process for minutes).
            while await group.next() != nil {
                guard !Task.isShuttingDownGracefully else { continue }
                if let due = next.next() { group.addTask { await self.forwardLogging(due, now: now) } }
            }
        }
    }

    private func forward(_ due: DueDelivery, now: Date) async throws {
        let pixel = due.pixel
        guard let config = try await self.pixel(pixel) else {
            for suspect in [false, true] {
                let events = try await self.claim(pixel, now: now, limit: self.batchSize, suspect: suspect)
                if !events.isEmpty { try await self.fail(events, code: nil, message: "the pixel was removed before its events were sent", now: now) }
            }
            return
        }
        // Without an enabled destination and a token the events wait: the operator may add them.
        guard let account = self.client.account(of: config) else { return }
        if let paused = due.pausedAtVersion, paused == config.version { return }
        var pass = Pass(
            account: account, version: config.version, now: now, isolationCalls: self.settings.isolationCallsPerPass,
            claimEnds: self.claimEnds()
        )
        let fresh = try await self.claim(pixel, now: now, limit: self.batchSize, suspect: false)
        var claimed = fresh
        if !fresh.isEmpty {
            try await self.deliver(fresh, pass: &pass)
        }
        if due.hasSuspects, !pass.isStopped, pass.isolationCalls > 0 {
            let suspects = try await self.claim(pixel, now: now, limit: self.settings.suspectBatchSize, suspect: true)
            claimed += suspects
            if !suspects.isEmpty {
                pass.isolationCalls -= 1
                try await self.deliver(suspects, pass: &pass)
            }
        }
        // What this pass neither delivered, retried nor failed (a pause, isolation calls used up) is due
        // again at once, not when the lease runs out. (Only that: releasing the settled too cost a write
        // transaction per pixel pass and an UPDATE per event, for rows already gone.)
        try await self.outbox.release(claimed.filter { !pass.settled.contains($0.id) })
    }

    private func pixel(_ id: PixelID) async throws -> PixelConfig? {
        if let config = self.directory?[id] { return config }
        return try await self.store.pixel(id)
    }

    /// The pixel's due events, claimed for `claimLease`: no other forwarder sharing the store sends them
    /// meanwhile.
    private func claim(_ pixel: PixelID, now: Date, limit: Int, suspect: Bool) async throws -> [OutboxEvent] {
        try await self.outbox.claim(for: DeliveryKey(pixel, self.destination), by: self.settings.node, now: now, limit: limit, suspect: suspect, lease: self.settings.claimLease)
    }

    /// When the claims a pass makes from now on run out, on the monotonic clock, less a margin for recording
    /// the last answer: another forwarder may claim the events from then on. (Their stored expiry counts
    /// from the pass's `now`, which the scheduler takes as each pass starts; tests pass their own.)
    private func claimEnds() -> ContinuousClock.Instant {
        let lease = self.settings.claimLease
        return ContinuousClock.now + lease - min(lease / 10, .seconds(1))
    }

    /// What one pixel's pass works with, and how much of it is left.
    private struct Pass {
        let account: API.Account
        let version: Int
        let now: Date
        var isolationCalls: Int
        /// No call may outlast the pass's claims (`claimEnds()`): past it, another node may be
        /// sending the same events, and this one's record of the answer could undo that node's claim.
        let claimEnds: ContinuousClock.Instant
        /// Set when the platform refused the pixel or could not be reached: nothing more is sent this pass.
        var isStopped = false
        /// The outbox ids of the events this pass delivered, retried or failed.
        var settled: Set<Int64> = []

        mutating func settle(_ events: [OutboxEvent]) {
            self.settled.formUnion(events.map(\.id))
        }
    }

    /// The platform's refusal of a batch for its content (TikTok's 40002 ..., Meta's 100).
    private struct Refusal {
        let code: Int
        let message: String
        let requestID: String?
    }

    /// Sends a batch; when the platform refuses it for its content, finds the refused events in it.
    private func deliver(_ events: [OutboxEvent], pass: inout Pass) async throws {
        guard let refusal = try await self.send(events, pass: &pass) else { return }
        if events.count == 1 {
            try await self.fail(events, code: refusal.code, message: refusal.message, requestID: refusal.requestID, now: pass.now)
            pass.settle(events)
        } else {
            try await self.outbox.markSuspect(events)
            try await self.isolate(events, dense: false, pass: &pass)
        }
    }

    /// Finds the refused events among `events` (a batch the platform refused, its events already suspects): halves
    /// while bad events are few, one by one once both halves of a split were refused. What the pass has no
    /// calls left for stays a suspect, due at the next pass.
    private func isolate(_ events: [OutboxEvent], dense: Bool, pass: inout Pass) async throws {
        let middle = events.count / 2
        let parts = dense ? events.map { [$0] } : [Array(events[..<middle]), Array(events[middle...])]
        var refused: [[OutboxEvent]] = []
        for part in parts {
            // Left as suspects, due at the next pass.
            guard !pass.isStopped, pass.isolationCalls > 0 else { return }
            pass.isolationCalls -= 1
            guard let refusal = try await self.send(part, pass: &pass) else { continue }
            if part.count == 1 {
                try await self.fail(part, code: refusal.code, message: refusal.message, requestID: refusal.requestID, now: pass.now)
                pass.settle(part)
            } else {
                refused.append(part)
            }
        }
        let bothRefused = refused.count == 2
        for part in refused {
            try await self.isolate(part, dense: dense || bothRefused, pass: &pass)
        }
    }

    /// Sends one batch and records what the platform said; returns its refusal when it refused the content.
    private func send(_ events: [OutboxEvent], pass: inout Pass) async throws -> Refusal? {
        let pixel = events[0].pixel
        let started = ContinuousClock.now
        guard started < pass.claimEnds else {
            // The claim runs out before a call could end: the pass stops, and what it has not settled is
            // released, due again at once for whichever forwarder claims it next.
            pass.isStopped = true
            return nil
        }
        let answer = await self.send(events.map(\.data), to: pass.account, until: pass.claimEnds)
        let elapsed = ContinuousClock.now - started
        self.metrics.eventsAPIAnswered(answer.label, destination: self.destination.rawValue)
        switch answer.outcome {
        case .accepted(let requestID):
            try await self.outbox.delivered(events, to: DeliveryKey(pixel, self.destination), requestID: requestID, now: pass.now)
            self.depth.removed(events.count, of: pixel)
            self.metrics.eventsForwarded(events.count, destination: self.destination.rawValue, after: elapsed)
            pass.settle(events)
            self.logger.debug("events delivered", metadata: ["pixel": "\(pixel)", "destination": "\(self.destination)", "count": "\(events.count)", "requestID": "\(requestID ?? "")"])
            return nil
        case .partiallyAccepted(let refusals, let code, let message, let requestID):
            guard let refused = refusals.flatMap({ Self.match($0, in: events) }) else {
                // The answer does not say which events were refused: found as for a refused batch.
                self.metrics.forwardAttempted(destination: self.destination.rawValue, taking: elapsed)
                return Refusal(code: code, message: message, requestID: requestID)
            }
            let accepted = events.filter { refused[$0.id] == nil }
            if !accepted.isEmpty {
                try await self.outbox.delivered(accepted, to: DeliveryKey(pixel, self.destination), requestID: requestID, now: pass.now)
                self.depth.removed(accepted.count, of: pixel)
                self.metrics.eventsForwarded(accepted.count, destination: self.destination.rawValue, after: elapsed)
            } else {
                self.metrics.forwardAttempted(destination: self.destination.rawValue, taking: elapsed)
            }
            for event in events {
                guard let refusal = refused[event.id] else { continue }
                try await self.fail([event], code: refusal.code ?? code, message: refusal.message, requestID: requestID, now: pass.now)
            }
            pass.settle(events)
            return nil
        case .transient(let state, let code, let message, let requestID, let retryAfter):
            self.metrics.forwardAttempted(destination: self.destination.rawValue, taking: elapsed)
            if state == .unexpectedAnswer, let code, self.unexpectedCodes.isFirst(code) {
                self.logger.warning(
                    "\(self.destination.displayName) answered a code PixelEdge does not know; the events are kept and retried",
                    metadata: ["pixel": "\(pixel)", "destination": "\(self.destination)", "code": "\(code)", "error": "\(message)", "requestID": "\(requestID ?? "")"]
                )
            }
            let attempts = events.map(\.attempts).max() ?? 0
            // Clamped where it entered (EventsAPIAnswer.retryAfter), and again here: no wait past an hour.
            let delay = min(retryAfter ?? self.backoff(afterAttempts: attempts), EventsAPIAnswer.maximumRetryAfter)
            let failure = DeliveryStatus.Failure(code: code, message: message, requestID: requestID, at: pass.now)
            try await self.outbox.retry(events, after: delay, state: state, failure: failure)
            pass.settle(events)
            pass.isStopped = true
            // Summed up once per pass (`unavailable`): an outage would otherwise log a line per pixel.
            self.unavailable.record(message)
            self.logger.debug(
                "\(self.apiName) unavailable; will retry",
                metadata: ["pixel": "\(pixel)", "destination": "\(self.destination)", "count": "\(events.count)", "code": "\(code.map(String.init) ?? "-")", "retryIn": "\(delay)", "error": "\(message)"]
            )
            return nil
        case .pixelRejected(let state, let code, let message, let requestID):
            let failure = DeliveryStatus.Failure(code: code, message: message, requestID: requestID, at: pass.now)
            try await self.outbox.pause(DeliveryKey(pixel, self.destination), atVersion: pass.version, state: state, failure: failure)
            pass.isStopped = true
            self.logger.error(
                "\(self.destination.displayName) rejected the pixel's configuration; its events wait until it changes",
                metadata: ["pixel": "\(pixel)", "destination": "\(self.destination)", "code": "\(code)", "error": "\(message)", "requestID": "\(requestID ?? "")"]
            )
            return nil
        case .eventsRejected(let code, let message, let requestID):
            self.metrics.forwardAttempted(destination: self.destination.rawValue, taking: elapsed)
            return Refusal(code: code, message: message, requestID: requestID)
        }
    }

    /// The API's answer, or an `.unreachable` one when the claim runs out first (a lease shorter than the API's
    /// timeout): the call is abandoned then, and its events retried like those of a call that timed out.
    private func send(_ data: [String], to account: API.Account, until claimEnds: ContinuousClock.Instant) async -> EventsAPIAnswer {
        let client = self.client
        // The common case (the default lease is 5 minutes): the call's own timeout ends it first.
        if claimEnds - ContinuousClock.now > client.timeout { return await client.send(data, to: account) }
        let message: String
        do {
            if let answer = try await withDeadline(claimEnds - ContinuousClock.now, { await client.send(data, to: account) }) { return answer }
            message = "no answer from \(client.endpoint) before this node's claim on the events ran out (claim lease \(self.settings.claimLease))"
        } catch {
            message = "the call to \(client.endpoint) was abandoned: the forwarder was cancelled"
        }
        return EventsAPIAnswer(outcome: .transient(.unreachable, code: nil, message: message, requestID: nil, retryAfter: nil), label: "none")
    }

    /// The events a partial success refused, by outbox id, from the answer's positions or event ids; nil when
    /// a refusal names no event of the batch (the answer is then not trusted to say which).
    static func match(_ refusals: [EventRefusal], in events: [OutboxEvent]) -> [Int64: EventRefusal]? {
        guard !refusals.isEmpty else { return nil }
        var matched: [Int64: EventRefusal] = [:]
        for refusal in refusals {
            if let index = refusal.index, events.indices.contains(index) {
                matched[events[index].id] = refusal
            } else if let eventID = refusal.eventID, let event = events.first(where: { $0.eventID == eventID }) {
                matched[event.id] = refusal
            } else {
                return nil
            }
        }
        return matched
    }

    private func fail(_ events: [OutboxEvent], code: Int?, message: String, requestID: String? = nil, now: Date) async throws {
        try await self.outbox.fail(events, failure: DeliveryStatus.Failure(code: code, message: message, requestID: requestID, at: now))
        self.depth.removed(events.count, of: events[0].pixel)
        self.metrics.eventsFailed(code: code, count: events.count, destination: self.destination.rawValue)
        self.logger.error(
            "events will not be delivered",
            metadata: ["pixel": "\(events[0].pixel)", "destination": "\(self.destination)", "count": "\(events.count)", "code": "\(code.map(String.init) ?? "-")", "error": "\(message)"]
        )
    }

    /// Exponential, capped, with jitter (half to all of the step) so that retries from many pixels spread out.
    func backoff(afterAttempts attempts: Int) -> Duration {
        let step = min(self.settings.backoffCap.seconds, self.settings.backoffBase.seconds * pow(2, Double(min(attempts, 30))))
        return .milliseconds(Int64(step * Double.random(in: 0.5...1.0) * 1000))
    }
}

/// How many pixel passes could not reach the Events API since the last summary, and what one of them got.
final class UnavailableTally: Sendable {
    private let state = Mutex<(count: Int, example: String?)>((0, nil))

    /// What was recorded since the last call, and a fresh start.
    func takeSummary() -> (pixels: Int, example: String)? {
        self.state.withLock { state in
            defer { state = (0, nil) }
            return state.example.map { (state.count, $0) }
        }
    }

    func record(_ message: String) {
        self.state.withLock { state in
            state.count += 1
            if state.example == nil { state.example = message }
        }
    }

}

/// Says whether a value is seen for the first time, remembering at most `limit` (past it, nothing is new:
/// a hostile answer cycling through codes cannot grow the set or the log).
final class SeenOnce<Value: Hashable & Sendable>: Sendable {
    private let limit: Int
    private let seen = Mutex<Set<Value>>([])

    init(limit: Int) {
        self.limit = limit
    }

    func isFirst(_ value: Value) -> Bool {
        self.seen.withLock { seen in
            guard seen.count < self.limit else { return false }
            return seen.insert(value).inserted
        }
    }
}
