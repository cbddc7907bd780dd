public import PixelEdgeCore

/// How long PixelEdge waits for its clients, and how many it keeps: the bounds that keep one slow or
/// hostile client from holding what others need (`pixel-edge serve --idle-timeout` and the like).
public struct ConnectionSettings: Sendable, Equatable {
    /// A keep-alive connection with no request under way is closed after this. Longer than the usual
    /// CDN and load balancer idle timeouts (60 s), so that they close first and never reuse a connection
    /// PixelEdge is closing.
    public var idleTimeout: Duration
    /// From a request's first byte to the end of its head; past it the answer is 408.
    public var headTimeout: Duration
    /// From a request's head to the end of its body; past it the answer is 408 (bodies are at most 64 KiB).
    public var bodyTimeout: Duration
    /// How long a client may leave a response unread before the connection is dropped.
    public var sendTimeout: Duration
    /// Past this many open connections, the one idle the longest is closed for each new one; when none is
    /// idle, new connections wait in the listen backlog until one closes.
    public var maximumConnections: Int
    /// After SIGTERM: how long requests in flight have to finish before their connections are closed.
    public var drainTimeout: Duration
    /// After PixelEdge ends its side of a connection, what the client still sends is read and dropped
    /// for this long, so that the client sees an orderly close rather than a reset.
    public var lingerTimeout: Duration
    /// Connections the kernel completes before PixelEdge accepts them. Hummingbird's 256 is too few for a
    /// burst: past it Linux drops the SYN and the client retries a second later, so a few hundred slow
    /// clients connecting at once delayed everyone else by that second. Linux caps it at `somaxconn`.
    public var listenBacklog: Int

    public init(
        idleTimeout: Duration = .seconds(75),
        headTimeout: Duration = .seconds(10),
        bodyTimeout: Duration = .seconds(10),
        sendTimeout: Duration = .seconds(30),
        maximumConnections: Int = ConnectionSettings.defaultMaximumConnections,
        drainTimeout: Duration = .seconds(10),
        lingerTimeout: Duration = .seconds(2),
        listenBacklog: Int = 4096
    ) {
        self.idleTimeout = idleTimeout
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
        self.sendTimeout = sendTimeout
        self.maximumConnections = maximumConnections
        self.drainTimeout = drainTimeout
        self.lingerTimeout = lingerTimeout
        self.listenBacklog = listenBacklog
    }

    /// Every default, for the command line's help and flags.
    public static var defaults: ConnectionSettings { ConnectionSettings() }

    /// What every timeout may be set to, in seconds.
    public static let timeoutRange: ClosedRange<Double> = 0.05...86400

    /// Refuses values out of their ranges, naming each by its `pixel-edge serve` option.
    public func validate() throws(ConfigurationError) {
        for (name, value) in [
            ("idle-timeout", self.idleTimeout), ("head-timeout", self.headTimeout), ("body-timeout", self.bodyTimeout),
            ("send-timeout", self.sendTimeout), ("drain-timeout", self.drainTimeout),
        ] where !Self.timeoutRange.contains(value.seconds) {
            throw ConfigurationError(field: name, message: "must be between 0.05 and 86400 seconds, not \(value.seconds)")
        }
        guard self.maximumConnections >= 1 else {
            throw ConfigurationError(field: "max-connections", message: "must be at least 1, not \(self.maximumConnections)")
        }
    }

    /// 16,384, or fewer when the process may open fewer files: the database, outbound connections and the
    /// listener keep 256 descriptors of their own, so that accepting never fails for want of one.
    public static var defaultMaximumConnections: Int {
        let available = FileDescriptorLimit.current - 256
        return max(64, min(16_384, available))
    }
}
