/// Why `/collect` refused an event, in the relay's words: the HTTP layer gives each reason its status.
public struct CollectError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        /// The body is not an event PixelEdge can forward: a field is missing, malformed or carries what it
        /// must not.
        case invalid
        /// No pixel has this id.
        case unknownPixel
        /// The pixel requires consent and the event does not say it was granted.
        case consentRequired
        /// Nothing can be stored now (the server stops, the store fails): the client may try again.
        case unavailable
    }

    public let reason: Reason
    public let field: String?
    public let message: String
    /// Seconds after which trying again makes sense, when the refusal is temporary and says so.
    public let retryAfter: Int?

    public init(_ reason: Reason, field: String? = nil, retryAfter: Int? = nil, _ message: String) {
        self.reason = reason
        self.field = field
        self.retryAfter = retryAfter
        self.message = message
    }

    public var description: String { "\(self.reason.rawValue) \(self.field.map { "\($0): " } ?? "")\(self.message)" }
}
