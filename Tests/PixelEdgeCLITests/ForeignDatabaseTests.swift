import Foundation
import GRDB
import Testing

@testable import PixelEdgeSQLite
@testable import PixelEdgeTestSupport

/// The CLI (and the server) change only PixelEdge's own databases: `pixels list --database other-app.db` once
/// added 11 tables to another application's file and switched it to WAL for good.
@Suite struct ForeignDatabaseTests {
    let directory: TemporaryDirectory

    init() throws {
        self.directory = try TemporaryDirectory()
    }

    /// Another application's SQLite file, in rollback-journal mode, with a table of its own.
    func otherApplicationsDatabase() throws -> String {
        let path = self.directory.path("other-app.db")
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices (total) VALUES (12.5)")
        }
        try queue.close()
        return path
    }

    @Test func anotherApplicationsDatabaseIsRefusedAndLeftAsItWas() async throws {
        let path = try self.otherApplicationsDatabase()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        for command in [["pixels", "list"], ["pixels", "set", "shop", "--tiktok-pixel-code", TestEnvironment.pixelCode, "--no-verify"]] {
            let result = try await CommandRunner.run(command + ["--database", path])
            #expect(result.status != 0)
            #expect(result.standardError.contains("\(path) is not a PixelEdge database (tables invoices): PixelEdge refuses to change it"), "\(result.standardError)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "not a byte changed")
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        #expect(!FileManager.default.fileExists(atPath: path + "-journal"))
    }

    @Test func aFileThatIsNotSQLiteADirectoryAndADeviceAreRefused() async throws {
        let text = self.directory.path("notes.txt")
        try "not a database, but someone's notes".write(toFile: text, atomically: true, encoding: .utf8)
        let notes = try await CommandRunner.run(["pixels", "list", "--database", text])
        #expect(notes.status != 0)
        #expect(notes.standardError.contains("\(text) is not an SQLite database"), "\(notes.standardError)")
        #expect(try String(contentsOfFile: text, encoding: .utf8) == "not a database, but someone's notes")

        let folder = try await CommandRunner.run(["pixels", "list", "--database", self.directory.path("")])
        #expect(folder.standardError.contains("is a directory: give --database a file"), "\(folder.standardError)")

        let device = try await CommandRunner.run(["pixels", "list", "--database", "/dev/null"])
        #expect(device.status != 0)
        #expect(device.standardError.contains("/dev/null is not a regular file"), "\(device.standardError)")
        #expect(!FileManager.default.fileExists(atPath: "/dev/null-journal"))
    }

    @Test func pixelEdgesOwnFilesAreMarkedAndOpenedAgain() async throws {
        let path = self.directory.path("pixels.sqlite")
        #expect(try await CommandRunner.run(["pixels", "set", "shop", "--tiktok-pixel-code", TestEnvironment.pixelCode, "--no-verify", "--database", path]).status == 0)
        let id = try await DatabaseQueue(path: path).read { try Int32.fetchOne($0, sql: "PRAGMA application_id") }
        #expect(id == SQLiteFileCheck.applicationID)
        #expect(try await CommandRunner.run(["pixels", "list", "--database", path]).standardOutput.contains("shop"))
        // A file from before the marker (application_id 0) is recognised by its tables, and marked.
        try await DatabaseQueue(path: path).write { try $0.execute(sql: "PRAGMA application_id = 0") }
        #expect(try await CommandRunner.run(["pixels", "list", "--database", path]).standardOutput.contains("shop"))
        #expect(try await DatabaseQueue(path: path).read { try Int32.fetchOne($0, sql: "PRAGMA application_id") } == SQLiteFileCheck.applicationID)
    }
}
