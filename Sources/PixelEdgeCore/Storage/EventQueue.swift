public import Foundation

/// An accepted event's copy for one destination, as stored.
public struct OutboxEvent: Sendable, Equatable {
    public let id: Int64
    public let pixel: PixelID
    public let destination: DestinationID
    public let eventID: String
    public let eventName: String
    /// The destination's event element (TikTok's Events API `data` element), JSON.
    public let data: String
    public let attempts: Int
    public let receivedAt: Date
    /// The claim this copy was read under (`EventQueue.claim`), nil for one read otherwise.
    public let claim: Claim?

    /// Who claimed an event and until when: the fence of the claimant's later writes. A release or a retry
    /// applies to an event only while this claim still holds it. A forwarder whose lease ran out (a pass
    /// held up past it, a node stopped and resumed) would otherwise undo the claim another forwarder has
    /// taken since, and a third would send the same events while the second does.
    public struct Claim: Sendable, Hashable {
        public let owner: String
        /// As the store keeps it: milliseconds since 1970.
        public let untilMilliseconds: Int64

        public init(owner: String, untilMilliseconds: Int64) {
            self.owner = owner
            self.untilMilliseconds = untilMilliseconds
        }
    }

    public init(
        id: Int64, pixel: PixelID, destination: DestinationID = .tiktok, eventID: String, eventName: String, data: String, attempts: Int,
        receivedAt: Date, claim: Claim? = nil
    ) {
        self.id = id
        self.pixel = pixel
        self.destination = destination
        self.eventID = eventID
        self.eventName = eventName
        self.data = data
        self.attempts = attempts
        self.receivedAt = receivedAt
        self.claim = claim
    }

    public var key: DeliveryKey { DeliveryKey(self.pixel, self.destination) }
}

/// What TikTok last said about a pixel's events, and how many went through.
public struct DeliveryStatus: Sendable, Equatable {
    /// Stored by its raw value; `TikTokAnswerCode` says which answer leads to which.
    public enum State: String, Sendable, Codable, CaseIterable {
        case ok
        // The pixel's configuration needs a person: delivery pauses, events are kept.
        case invalidPixelCode = "invalid_pixel_code"
        case invalidAccessToken = "invalid_access_token"
        case accessTokenExpired = "access_token_expired"
        case accessTokenMissing = "access_token_missing"
        case noPermission = "no_permission"
        // Events are kept and retried with backoff.
        case rateLimited = "rate_limited"
        case maintenance
        case tiktokError = "tiktok_error"
        /// Meta's Conversions API's own transient errors (codes 1, 2, HTTP 5xx).
        case metaError = "meta_error"
        case unexpectedAnswer = "unexpected_answer"
        case unreachable

        /// Whether TikTok refuses the pixel's configuration until a person changes it (the console's red).
        public var needsPerson: Bool {
            switch self {
            case .invalidPixelCode, .invalidAccessToken, .accessTokenExpired, .accessTokenMissing, .noPermission: true
            case .ok, .rateLimited, .maintenance, .tiktokError, .metaError, .unexpectedAnswer, .unreachable: false
            }
        }
    }

    public struct Failure: Sendable, Equatable {
        /// TikTok's `code`, or nil when TikTok could not be reached.
        public var code: Int?
        public var message: String
        public var requestID: String?
        public var at: Date

        public init(code: Int?, message: String, requestID: String?, at: Date) {
            self.code = code
            self.message = message
            self.requestID = requestID
            self.at = at
        }
    }

    public var state: State
    /// When `state` was last set.
    public var at: Date
    public var lastRequestID: String?
    public var lastError: Failure?
    public var sent: Int
    public var failed: Int
    /// Events not delivered within the maximum event age, never sent.
    public var expired: Int
    /// Set after a permanent error: delivery stops until the pixel's configuration moves past this version.
    public var pausedAtVersion: Int?

    public init(
        state: State, at: Date, lastRequestID: String?, lastError: Failure?, sent: Int, failed: Int, expired: Int, pausedAtVersion: Int?
    ) {
        self.state = state
        self.at = at
        self.lastRequestID = lastRequestID
        self.lastError = lastError
        self.sent = sent
        self.failed = failed
        self.expired = expired
        self.pausedAtVersion = pausedAtVersion
    }
}

/// A delivery with events due, as the forwarder's window finds it. Whether suspects wait and whether the
/// destination paused it are read in the same query as the due deliveries, once per window, rather than by
/// two reads in each pixel's pass. They can be a window old when the pass starts: a pause made meanwhile by
/// another node costs one more request, which the destination refuses again; suspects marked meanwhile wait
/// for the next window. A node's own passes of a pixel never overlap, so its own pauses and suspects are
/// never missed.
public struct DueDelivery: Hashable, Sendable, CustomStringConvertible {
    public let key: DeliveryKey
    /// At least one of its due events is a suspect (`EventQueue.markSuspect`).
    public let hasSuspects: Bool
    /// The pixel version the destination refused (`DeliveryStatus.pausedAtVersion`), while it is paused.
    public let pausedAtVersion: Int?

    public init(_ key: DeliveryKey, hasSuspects: Bool = false, pausedAtVersion: Int? = nil) {
        self.key = key
        self.hasSuspects = hasSuspects
        self.pausedAtVersion = pausedAtVersion
    }

    public var pixel: PixelID { self.key.pixel }

    public var description: String {
        "\(self.key)\(self.hasSuspects ? " (suspects)" : "")\(self.pausedAtVersion.map { " (paused at version \($0))" } ?? "")"
    }
}

/// The durable queue of accepted events, one copy per destination: what `/collect` writes and the forwarder
/// sends from. The embedded store is `SQLiteOutbox`; a store that several nodes share meets the same
/// contract, claims included: a node claims a delivery's due events (one pixel's, to one destination) for a
/// lease, and no other claim returns them while it holds; what the node neither delivers, retries nor fails
/// is released, or due again once the lease runs out (the node died).
public protocol EventQueue: Sendable {
    /// Stores events in one transaction (one commit for a whole group of requests); returns once committed.
    func append(_ events: [QueuedEvent], now: Date) async throws
    /// Copies waiting to be sent, claimed or not, per pixel, every destination's together (pixels with none
    /// are absent).
    func pendingCounts() async throws -> [PixelID: Int]
    /// The destination's deliveries with at least one event due now and not claimed, with what a pass needs
    /// to know before it claims: whether suspects are among them, and the version its pause holds.
    func dueDeliveries(to destination: DestinationID, now: Date) async throws -> [DueDelivery]
    /// Claims for `owner` (a node), until `now + lease`, the delivery's oldest due events: fresh ones, or
    /// suspects (events of a batch the destination refused).
    func claim(for delivery: DeliveryKey, by owner: String, now: Date, limit: Int, suspect: Bool, lease: Duration) async throws -> [OutboxEvent]
    /// Gives back claimed events not sent: due again at once. Only those still under the claim they were read
    /// under (`OutboxEvent.claim`): one claimed by another forwarder since is left to it.
    func release(_ events: [OutboxEvent]) async throws
    /// Gives back every claim of `owner`: a node that starts again releases what it held when it stopped
    /// (killed, say) rather than wait for the leases. Returns how many events.
    func releaseClaims(by owner: String) async throws -> Int
    /// The destination accepted these: they leave the outbox (and count as sent in the delivery's status).
    func delivered(_ events: [OutboxEvent], to delivery: DeliveryKey, requestID: String?, now: Date) async throws
    /// A transient failure: the events (of one delivery) are tried again after `delay` (its status says why).
    /// As for `release`, an event claimed by another forwarder since is left to it.
    func retry(_ events: [OutboxEvent], after delay: Duration, state: DeliveryStatus.State, failure: DeliveryStatus.Failure) async throws
    /// Events TikTok will never accept: kept for inspection, never retried.
    func fail(_ events: [OutboxEvent], failure: DeliveryStatus.Failure) async throws
    /// These events were in a batch TikTok refused: from now on they travel apart from fresh events.
    func markSuspect(_ events: [OutboxEvent]) async throws
    /// Marks the pending events whose time is before `date` expired, never sent; returns how many, per
    /// delivery.
    func expirePending(eventTimeBefore date: Date, now: Date) async throws -> [DeliveryKey: Int]
    /// Deletes failed and expired events received before `date`, and the oldest beyond `limit`; returns how many.
    func pruneUndeliverable(receivedBefore date: Date, keepingAtMost limit: Int) async throws -> Int
}

extension EventQueue {
    /// Events waiting to be sent, claimed or not.
    public func pendingCount() async throws -> Int {
        try await self.pendingCounts().values.reduce(0, +)
    }
}

/// Each delivery's status (a pixel's, to one destination): what the destination last said, whether
/// delivery is paused, and the event counts the admin API, the console and `pixels show` report.
public protocol DeliveryStatusStore: Sendable {
    /// A permanent error for the delivery: its events stay queued, and it stops until the pixel's
    /// configuration moves past `version`.
    func pause(_ delivery: DeliveryKey, atVersion version: Int, state: DeliveryStatus.State, failure: DeliveryStatus.Failure) async throws
    /// Records what a connection test of the pixel's configuration at `version` found at `now`: `failure`
    /// nil when the destination accepted the credentials (which also lifts a pause at that version or before).
    func recordVerification(
        of delivery: DeliveryKey, atVersion version: Int, state: DeliveryStatus.State, requestID: String?, failure: DeliveryStatus.Failure?,
        now: Date
    ) async throws
    func status(of delivery: DeliveryKey) async throws -> DeliveryStatus?
    /// The status, for `destination`, of those of `pixels` it has answered once or more.
    func statuses(of pixels: [PixelID], to destination: DestinationID) async throws -> [PixelID: DeliveryStatus]
    func counts(of delivery: DeliveryKey) async throws -> (queued: Int, failed: Int)
    /// How many deliveries are paused now, per destination: paused at their pixel's current configuration
    /// version (a change of configuration lifts a pause). Destinations with none are absent.
    func pausedDeliveryCounts() async throws -> [DestinationID: Int]
}

/// What the console shows of a pixel's past: its latest events and its match-key counts per hour.
public protocol EventHistory: Sendable {
    /// The pixel's latest events, newest first: queued, failed and expired ones from the outbox, sent ones
    /// from the last `RecentEvent.keptPerPixel` kept when they left it.
    func recentEvents(of pixel: PixelID, limit: Int) async throws -> [RecentEvent]
    /// Adds to the pixels' match-key counts for an hour (`MatchKeyCoverage.hour(of:)`). The writer counts
    /// what it stores and adds the counts every second, off the path of `/collect`'s commits.
    func addMatchKeyCounts(_ counts: [PixelID: MatchKeyCoverage], hour: Int64) async throws
    /// The match keys of the pixel's events received since `date` (to the hour).
    func matchKeyCoverage(of pixel: PixelID, since date: Date) async throws -> MatchKeyCoverage
    /// Forgets the sent events and match-key counts older than `date`; returns how many rows went.
    func pruneHistory(before date: Date) async throws -> Int
}

/// The three parts one store implements over the same tables (the outbox's rows feed all three); each user
/// asks for the part it needs.
public typealias EventOutbox = EventQueue & DeliveryStatusStore & EventHistory
