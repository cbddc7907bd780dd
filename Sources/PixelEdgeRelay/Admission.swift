import Foundation
public import PixelEdgeCore
import Synchronization

/// How much of the outbox `/collect` lets each pixel and each client take, so that one anonymous client
/// flooding one public pixel cannot fill the outbox every pixel shares (it once did in 12 s at ~10,000
/// requests/s, and every other pixel's events got 429 after).
///
/// Sized from `--outbox-limit` (100,000 by default):
/// - the outbox: at most `outboxLimit` events waiting, in all;
/// - a pixel: at most half of it (`pixelShare`, 50,000), so that the other half stays for the others;
/// - a client address (as `--trusted-proxy` reads it): a token bucket of `clientRate` events a second
///   (outboxLimit / 1,000: 100/s) and bursts of `clientBurst` (outboxLimit / 100: 1,000), far above what a
///   visitor's pages send (a few events each), and enough for many visitors behind one NAT.
/// Each refusal is a 429 with `Retry-After`, counted in `pixeledge_events_refused_total{reason}`.
public struct AdmissionLimits: Sendable, Equatable {
    public var outboxLimit: Int
    public var pixelShare: Int
    public var clientRate: Double
    public var clientBurst: Double
    /// Client addresses tracked at once; past it, the idle ones are forgotten first.
    public var trackedClients: Int = 100_000

    public init(outboxLimit: Int) {
        self.outboxLimit = max(1, outboxLimit)
        self.pixelShare = max(1, self.outboxLimit / 2)
        self.clientRate = max(10, Double(self.outboxLimit) / 1000)
        self.clientBurst = max(100, Double(self.outboxLimit) / 100)
    }
}

/// Why `/collect` refused an event for room, and how long to wait.
public enum AdmissionRefusal: Error, Equatable, Sendable {
    case outboxFull(depth: Int, limit: Int)
    case pixelShare(pixel: PixelID, depth: Int, share: Int)
    case clientRate(retryAfter: Duration)

    /// The label of `pixeledge_events_refused_total`.
    public var reason: String {
        switch self {
        case .outboxFull: "outbox_full"
        case .pixelShare: "pixel_share"
        case .clientRate: "client_rate"
        }
    }

    /// Whole seconds, at least 1: what `Retry-After` says.
    public var retryAfterSeconds: Int {
        switch self {
        case .outboxFull, .pixelShare: 60
        case .clientRate(let wait): min(60, max(1, Int(wait.seconds.rounded(.up))))
        }
    }

    public var message: String {
        switch self {
        case .outboxFull(let depth, let limit):
            "the outbox holds \(depth) events, over its limit of \(limit): try again later"
        case .pixelShare(let pixel, let depth, let share):
            "pixel \(pixel) has \(depth) events waiting, its share of the outbox is \(share): try again later"
        case .clientRate:
            "this client sends events faster than PixelEdge takes from one address: try again in \(self.retryAfterSeconds) s"
        }
    }
}

/// The outbox's room and a token bucket per client address: decides whether `/collect` may store an event.
public final class Admission: Sendable {
    public let limits: AdmissionLimits
    let depth: OutboxDepth
    private let buckets = Mutex<[String: Bucket]>([:])

    struct Bucket {
        var tokens: Double
        var at: ContinuousClock.Instant
    }

    public init(limits: AdmissionLimits, depth: OutboxDepth) {
        self.limits = limits
        self.depth = depth
    }

    /// Throws the refusal when the event may not be stored now; takes one of the client's tokens otherwise.
    public func admit(_ pixel: PixelID, client: String?, now: ContinuousClock.Instant = .now) throws(AdmissionRefusal) {
        let total = self.depth.value
        guard total < self.limits.outboxLimit else { throw .outboxFull(depth: total, limit: self.limits.outboxLimit) }
        let pixelDepth = self.depth.value(of: pixel)
        guard pixelDepth < self.limits.pixelShare else { throw .pixelShare(pixel: pixel, depth: pixelDepth, share: self.limits.pixelShare) }
        if let client, let wait = self.take(client, now: now) { throw .clientRate(retryAfter: wait) }
    }

    /// Client addresses with a bucket now (tests).
    var trackedCount: Int { self.buckets.withLock { $0.count } }

    /// Takes a token from the client's bucket; nil when there was one, else the wait for the next.
    func take(_ client: String, now: ContinuousClock.Instant) -> Duration? {
        let (rate, burst) = (self.limits.clientRate, self.limits.clientBurst)
        return self.buckets.withLock { buckets -> Duration? in
            var bucket = buckets[client] ?? Bucket(tokens: burst, at: now)
            bucket.tokens = min(burst, bucket.tokens + max(0, (now - bucket.at).seconds) * rate)
            bucket.at = now
            defer {
                if buckets[client] == nil, buckets.count >= self.limits.trackedClients {
                    Self.forgetIdle(&buckets, limit: self.limits.trackedClients, now: now, rate: rate, burst: burst)
                }
                buckets[client] = bucket
            }
            guard bucket.tokens >= 1 else { return .seconds((1 - bucket.tokens) / rate) }
            bucket.tokens -= 1
            return nil
        }
    }

    /// Drops the buckets that have filled up again (a new one starts full: forgetting them changes nothing);
    /// if that frees nothing, every bucket: memory stays bounded, at the cost of a fresh burst for all.
    private static func forgetIdle(_ buckets: inout [String: Bucket], limit: Int, now: ContinuousClock.Instant, rate: Double, burst: Double) {
        buckets = buckets.filter { $0.value.tokens + max(0, (now - $0.value.at).seconds) * rate < burst }
        if buckets.count >= limit { buckets.removeAll() }
    }
}
