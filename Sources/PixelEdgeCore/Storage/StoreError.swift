/// Why the store cannot do what was asked, in terms an operator can act on. `/collect` answers 503 for any
/// of these (never 204: the event was not kept), and `/readyz` reports it.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        case fileDeleted = "file_deleted"
        case fileReplaced = "file_replaced"
        case diskFull = "disk_full"
        case readOnly = "read_only"
        case busy
        case corrupt
        case io = "io_error"

        /// Whether retrying can help before a restart: a deleted or replaced file stays so.
        public var isPermanent: Bool { self == .fileDeleted || self == .fileReplaced }

        /// What an unauthenticated client may be told: no path, host, port, user or database name (those
        /// are in the log).
        public var summary: String {
            switch self {
            case .fileDeleted: "the database file was deleted"
            case .fileReplaced: "the database file was replaced"
            case .diskFull: "the disk is full"
            case .readOnly: "the database is read-only"
            case .busy: "the database is busy"
            case .corrupt: "the database is corrupt"
            case .io: "database unreachable"
            }
        }
    }

    public let reason: Reason
    public let message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { self.message }
}
