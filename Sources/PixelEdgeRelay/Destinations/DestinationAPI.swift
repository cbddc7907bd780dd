public import PixelEdgeCore

/// A destination's server API as the forwarder and the connection test use it: which pixels it can send
/// for, and one request with a batch of stored copies, its answer classified in the outcomes the forwarder
/// acts on. TikTok's Events API and Meta's Conversions API are two; a third is a type of its own, not edits
/// to the forwarder.
public protocol DestinationAPI: Sendable {
    /// What a request for one pixel needs: its id on the platform, its token, its test code.
    associatedtype Account: Sendable

    static var destination: DestinationID { get }
    /// The most events one request may carry.
    static var maximumBatchSize: Int { get }

    /// Where requests go, for messages and logs: never with a secret in it.
    var endpoint: String { get }
    /// The longest one request may take, its answer included.
    var timeout: Duration { get }

    /// The pixel's account on this platform: nil while the destination is disabled or has no token (its
    /// events then wait: the operator may add them).
    func account(of pixel: PixelConfig) -> Account?

    /// Sends one batch of stored copies (`QueuedEvent.data`) and classifies the answer. Never throws: a
    /// failure to reach the platform is an answer too (`.transient(.unreachable, …)`).
    func send(_ data: [String], to account: Account) async -> EventsAPIAnswer

    /// Whether the account has a test code, so that the connection test sends a test event (which the
    /// platform shows apart from real traffic) rather than only checking the credentials.
    func hasTestCode(_ account: Account) -> Bool
}

extension DestinationAPI {
    /// The API by name, for log lines: "Events API", "Conversions API".
    public static var name: String { Self.destination.serverAPIName }
}
