package import GRDB
import PixelEdgeCore

extension StoreError {
    /// The store's failures as such; nil for a database error that is a fault in PixelEdge itself (a constraint, a
    /// malformed statement), which stays what it is.
    package init?(_ error: DatabaseError) {
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

}
