import HTTPTypes

/// Why `/collect` refused an event: an HTTP status and a message naming the field.
public struct CollectError: Error, Equatable, Sendable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let field: String?
    public let message: String

    public init(_ status: HTTPResponse.Status, field: String? = nil, _ message: String) {
        self.status = status
        self.field = field
        self.message = message
    }

    public var description: String { "\(self.status.code) \(self.field.map { "\($0): " } ?? "")\(self.message)" }
}
