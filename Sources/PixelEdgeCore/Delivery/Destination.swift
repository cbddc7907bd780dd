/// A platform a pixel's events are delivered to: each accepted event is queued once per destination the
/// pixel has, and each copy is claimed, sent, retried, failed and counted on its own, with a delivery
/// status of its own. A new destination is a new value here and a folder of its own (its payload, client,
/// answer table), not edits across the queue and the stores, which store the name as it is.
public struct DestinationID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// TikTok's Events API.
    public static let tiktok = DestinationID(rawValue: "tiktok")
    /// Meta's Conversions API.
    public static let meta = DestinationID(rawValue: "meta")

    /// Every destination PixelEdge delivers to, in the order it lists them (CLI, console, documents).
    public static let all: [DestinationID] = [.tiktok, .meta]

    /// The platform's name, for people: the console's cards, log lines, messages.
    public var displayName: String {
        switch self {
        case .tiktok: "TikTok"
        case .meta: "Meta"
        default: self.rawValue
        }
    }

    // What people are told about each platform, said once here rather than at each message: a new
    // destination gets its words by adding its case.

    /// The platform's server API, by the platform's own name for it.
    public var serverAPIName: String {
        switch self {
        case .meta: "Conversions API"
        default: "Events API"
        }
    }

    /// The platform's name for the id it gives each answer, which its support asks for.
    public var requestIDName: String {
        switch self {
        case .meta: "fbtrace_id"
        default: "request_id"
        }
    }

    /// The platform's credentials for the pixel `id` (its TikTok Pixel Code or Meta pixel ID), by their names in
    /// the platform's Events Manager.
    public func credentials(of id: String) -> String {
        switch self {
        case .meta: "the pixel ID \(id) and the access token"
        default: "the Pixel Code \(id) and the access token"
        }
    }

    /// Where the platform's Events Manager shows the test events of the pixel `id`.
    public func testEventsPage(of id: String) -> String {
        switch self {
        case .meta: "Events Manager > Data sources > pixel \(id) > Test events"
        default: "Events Manager > pixel \(id) > Test Events"
        }
    }

    /// The `serve` and `pixels test` option that points PixelEdge at another address of this API.
    public var apiBaseOption: String { "--\(self.rawValue)-api-base" }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { self.rawValue }
}

/// One pixel's deliveries to one destination: what the forwarder claims and sends together, and what a
/// delivery status describes.
public struct DeliveryKey: Hashable, Sendable, CustomStringConvertible {
    public let pixel: PixelID
    public let destination: DestinationID

    public init(_ pixel: PixelID, _ destination: DestinationID) {
        self.pixel = pixel
        self.destination = destination
    }

    public var description: String { "\(self.pixel) → \(self.destination)" }
}

/// An accepted event as one destination receives it: `data` is its payload's event element, shaped by the
/// destination (an element of TikTok's Events API `data`, or of Meta's Conversions API `data`), stored and
/// sent as it is.
public struct QueuedEvent: Sendable {
    public let event: CollectedEvent
    public let destination: DestinationID
    public let data: String

    public init(event: CollectedEvent, destination: DestinationID, data: String) {
        self.event = event
        self.destination = destination
        self.data = data
    }

    /// The copy for TikTok's Events API.
    public init(tiktok event: CollectedEvent) {
        self.init(event: event, destination: .tiktok, data: event.eventsAPIDataJSON())
    }

    /// The copy for Meta's Conversions API.
    public init(meta event: CollectedEvent) {
        self.init(event: event, destination: .meta, data: MetaServerEvent.json(for: event))
    }
}
