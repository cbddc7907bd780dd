import Hummingbird
public import HummingbirdCore
import NIOCore
public import PixelEdgeMetrics
import Synchronization

/// The server's open connections, for the connection limit: past `limit`, each new connection closes the
/// one that has been idle (or stuck in a request head) the longest. Hummingbird's listener asks it, as its
/// `AvailableConnectionsDelegate`, whether to accept: it does while a connection can make room.
public final class ConnectionRegistry: Sendable {
    /// When a connection last became evictable, in `NIODeadline` nanoseconds; 0 while it is busy with a
    /// request. Written by the connection's own handler, read here only when room must be made.
    final class Activity: Sendable {
        let evictableSince = Atomic<Int64>(0)
    }

    private struct Entry {
        let channel: any Channel
        let activity: Activity
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        /// Accepted connections, counted from the listener's side (a connection is counted before its
        /// pipeline exists).
        var open = 0
    }

    public let limit: Int
    private let state = Mutex(State())
    private let metrics: PixelEdgeMetrics

    public init(limit: Int, metrics: PixelEdgeMetrics) {
        self.limit = limit
        self.metrics = metrics
    }

    func register(_ channel: any Channel, activity: Activity) {
        self.state.withLock { $0.entries[ObjectIdentifier(channel)] = Entry(channel: channel, activity: activity) }
    }

    func unregister(_ channel: any Channel) {
        self.state.withLock { _ = $0.entries.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var openConnections: Int { self.state.withLock { $0.open } }

    fileprivate func opened() {
        let victim = self.state.withLock { state -> (any Channel)? in
            state.open += 1
            self.metrics.connectionsChanged(to: state.open)
            guard state.open > self.limit, let oldest = Self.oldestEvictable(in: state) else { return nil }
            // Not chosen again while it closes.
            oldest.activity.evictableSince.store(0, ordering: .relaxed)
            return oldest.channel
        }
        if let victim {
            self.metrics.connectionClosed(reason: "evicted")
            victim.pipeline.fireUserInboundEventTriggered(ConnectionGuard.Evict())
        }
    }

    fileprivate func closed() {
        self.state.withLock { state in
            state.open -= 1
            self.metrics.connectionsChanged(to: state.open)
        }
    }

    fileprivate var canMakeRoom: Bool {
        self.state.withLock { state in state.open < self.limit || Self.oldestEvictable(in: state) != nil }
    }

    private static func oldestEvictable(in state: State) -> Entry? {
        var oldest: (entry: Entry, since: Int64)?
        for entry in state.entries.values {
            let since = entry.activity.evictableSince.load(ordering: .relaxed)
            if since > 0, since < oldest?.since ?? .max {
                oldest = (entry, since)
            }
        }
        return oldest?.entry
    }

    /// What Hummingbird's listener consults before accepting.
    public var delegate: some AvailableConnectionsDelegate { Delegate(registry: self) }

    private struct Delegate: AvailableConnectionsDelegate {
        let registry: ConnectionRegistry

        mutating func connectionOpened() { self.registry.opened() }
        mutating func connectionClosed() { self.registry.closed() }
        func isAcceptingNewConnections() -> Bool { self.registry.canMakeRoom }
    }
}
