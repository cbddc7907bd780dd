import Foundation
import GRDB

/// What a `--database` path must be before PixelEdge opens it for writing: a file of PixelEdge's own, or one
/// not there yet. Opening another application's SQLite file would add PixelEdge's tables to it and switch
/// it to WAL for good (`pixels list --database other-app.db` once did); a device would get a
/// `-journal` beside it (`/dev/null-journal`, as root).
///
/// PixelEdge marks its files with SQLite's `application_id` (`PRAGMA application_id`, a header field meant
/// for this); a file from before the marker is recognised by PixelEdge's first migration, and marked.
enum SQLiteFileCheck {
    /// "PxEd" in ASCII.
    static let applicationID: Int32 = 0x5078_4564

    struct Refused: Error, CustomStringConvertible {
        let description: String
    }

    /// Throws, saying why, unless `path` is missing, an empty file or a PixelEdge database. Reads only.
    static func check(_ path: String) throws {
        var status = stat()
        guard stat(path, &status) == 0 else { return }  // not there: it is created
        switch status.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw Refused(description: "\(path) is a directory: give --database a file, such as \(path)/pixels.sqlite")
        default: throw Refused(description: "\(path) is not a regular file (a device, a pipe or a socket): PixelEdge keeps its database in a file of its own")
        }
        guard status.st_size > 0 else { return }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "PixelEdge file check"
        let (id, tables): (Int32, [String])
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            (id, tables) = try queue.read { db in
                (
                    try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0,
                    try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                )
            }
            try queue.close()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw Refused(description: "\(path) is not an SQLite database: PixelEdge refuses to change it; give --database a file of its own")
        }
        if id == Self.applicationID || tables.isEmpty { return }
        if id == 0, tables.contains("grdb_migrations"), tables.contains("pixel"), tables.contains("store_state") { return }
        let named = tables.prefix(5).joined(separator: ", ") + (tables.count > 5 ? ", …" : "")
        throw Refused(
            description: "\(path) is not a PixelEdge database (\(id == 0 ? "" : "application_id \(id), ")tables \(named)): PixelEdge refuses to change it; give --database a file of its own"
        )
    }
}
