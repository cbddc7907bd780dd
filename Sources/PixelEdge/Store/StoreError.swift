import GRDB

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
    }

    public let reason: Reason
    public let message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    /// The store's failures as such; nil for a database error that is a fault in PixelEdge itself (a constraint, a
    /// malformed statement), which stays what it is.
    init?(_ error: DatabaseError) {
        switch error.resultCode.primaryResultCode {
        case .SQLITE_FULL: self.init(.diskFull, "the disk holding the database is full: \(error.message ?? "SQLITE_FULL")")
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_AUTH: self.init(.readOnly, "the database cannot be written: \(error.message ?? "\(error.resultCode)")")
        case .SQLITE_BUSY, .SQLITE_LOCKED: self.init(.busy, "another process holds the database's lock: \(error.message ?? "SQLITE_BUSY")")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: self.init(.corrupt, "the database file is damaged: \(error.message ?? "\(error.resultCode)")")
        case .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_NOLFS, .SQLITE_PROTOCOL:
            self.init(.io, "the database file cannot be read or written: \(error.message ?? "\(error.resultCode)")")
        default: return nil
        }
    }

    public var description: String { self.message }
}
