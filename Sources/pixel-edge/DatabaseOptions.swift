import ArgumentParser
import Foundation
import PixelEdge
import PixelEdgeSQLite

struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database"), help: "SQLite file holding the pixel configurations.")
    var path = "pixeledge.sqlite"

    /// Opens the store. Reading commands refuse to create a new file, so a mistyped path is reported
    /// instead of showing an empty list.
    func openStore(creatingIfMissing: Bool) throws -> SQLitePixelStore {
        SQLitePixelStore(database: try self.openDatabase(creatingIfMissing: creatingIfMissing))
    }

    func openDatabase(creatingIfMissing: Bool) throws -> SQLiteDatabase {
        if !creatingIfMissing, !FileManager.default.fileExists(atPath: self.path) {
            printError("error: no database at \(self.path): pass --database, or create it with `pixel-edge pixels set` or `pixel-edge serve`")
            throw ExitCode.failure
        }
        do {
            return try SQLiteDatabase(path: self.path)
        } catch {
            printError("error: cannot open the database \(self.path): \(error)")
            throw ExitCode.failure
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
