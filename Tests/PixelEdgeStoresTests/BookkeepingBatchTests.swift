import Foundation
import GRDB
import Synchronization
import Testing

@testable import PixelEdgeCore
@testable import PixelEdgeSQLite
@testable import PixelEdgeTestSupport

/// The forwarder's bookkeeping writes queued together share one transaction, and each is still atomic on its
/// own: what one write did is committed or gone as a whole, whatever the others in its group do.
@Suite struct BookkeepingBatchTests {
    struct Refused: Error {}

    /// A pool with a table of its own, and the number of transactions it has committed.
    struct Fixture {
        let directory: TemporaryDirectory
        let pool: DatabasePool
        let commits = CommitCounter()

        init() throws {
            self.directory = try TemporaryDirectory()
            self.pool = try DatabasePool(path: self.directory.path("batch.sqlite"))
            try self.pool.write { db in try db.execute(sql: "CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL)") }
            self.pool.add(transactionObserver: self.commits)
        }

        func insert(_ text: String) -> @Sendable (Database) throws -> Int64 {
            { db in
                try db.execute(sql: "INSERT INTO note (text) VALUES (?)", arguments: [text])
                return db.lastInsertedRowID
            }
        }

        /// A write that changes the table, then throws.
        let halfDoneThenRefused: @Sendable (Database) throws -> Int64 = { db in
            try db.execute(sql: "INSERT INTO note (text) VALUES ('half done')")
            throw Refused()
        }

        func texts() throws -> [String] {
            try self.pool.read { db in try String.fetchAll(db, sql: "SELECT text FROM note ORDER BY id") }
        }

        func apply(_ batch: BookkeepingBatch, begin: @escaping @Sendable (Database) throws -> Void = { _ in }) async throws {
            try await self.pool.writeWithoutTransaction { db in batch.applyQueued(in: db, begin: begin) }
        }
    }

    final class CommitCounter: TransactionObserver, Sendable {
        private let count = Mutex(0)
        var commits: Int { self.count.withLock { $0 } }
        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { true }
        func databaseDidChange(with event: DatabaseEvent) {}
        func databaseDidCommit(_ db: Database) { self.count.withLock { $0 += 1 } }
        func databaseDidRollback(_ db: Database) {}
    }

    @Test func writesQueuedTogetherCommitInOneTransactionEachWithItsOwnResult() async throws {
        let fixture = try Fixture()
        let batch = BookkeepingBatch()
        let writes = (1...5).map { batch.queue(fixture.insert("write \($0)")) }
        try await fixture.apply(batch)
        #expect(fixture.commits.commits == 1)
        #expect(try writes.map { try $0.result() } == [1, 2, 3, 4, 5])
        #expect(try fixture.texts() == (1...5).map { "write \($0)" })
        // Nothing is left queued: the next access commits nothing.
        try await fixture.apply(batch)
        #expect(fixture.commits.commits == 1)
    }

    @Test func aWriteThatThrowsLeavesNothingAndTheOthersOfItsGroupCommit() async throws {
        let fixture = try Fixture()
        let batch = BookkeepingBatch()
        let first = batch.queue(fixture.insert("first"))
        let refused = batch.queue(fixture.halfDoneThenRefused)
        let last = batch.queue(fixture.insert("last"))
        try await fixture.apply(batch)
        #expect(try first.result() == 1)
        #expect(throws: Refused.self) { try refused.result() }
        #expect(try last.result() > 1)
        #expect(try fixture.texts() == ["first", "last"])
    }

    @Test func aWriteAloneThatThrowsRollsItsTransactionBack() async throws {
        let fixture = try Fixture()
        let batch = BookkeepingBatch()
        let refused = batch.queue(fixture.halfDoneThenRefused)
        try await fixture.apply(batch)
        #expect(throws: Refused.self) { try refused.result() }
        #expect(try fixture.texts() == [])
        #expect(fixture.commits.commits == 0)
    }

    @Test func whenTheTransactionEndsEarlyNoWriteOfTheGroupCountsAsCommitted() async throws {
        let fixture = try Fixture()
        let batch = BookkeepingBatch()
        let first = batch.queue(fixture.insert("first"))
        // What SQLite does on a full disk or an I/O error: the whole transaction is rolled back.
        let ending = batch.queue { db -> Int64 in
            try db.execute(sql: "ROLLBACK")
            return 0
        }
        let last = batch.queue(fixture.insert("last"))
        try await fixture.apply(batch)
        for write in [first, ending, last] {
            #expect(throws: (any Error).self) { try write.result() }
        }
        #expect(try fixture.texts() == [], "the last write did not commit on its own after the group's transaction ended")
    }

    @Test func whenTheTransactionCannotBeginEveryWriteFails() async throws {
        let fixture = try Fixture()
        let batch = BookkeepingBatch()
        let writes = [batch.queue(fixture.insert("a")), batch.queue(fixture.insert("b"))]
        try await fixture.apply(batch) { _ in throw Refused() }
        for write in writes {
            #expect(throws: Refused.self) { try write.result() }
        }
        #expect(try fixture.texts() == [])
    }

    @Test func aWithdrawnWriteIsNeverApplied() async throws {
        let fixture = try Fixture()
        let batch = BookkeepingBatch()
        let kept = batch.queue(fixture.insert("kept"))
        let withdrawn = batch.queue(fixture.insert("withdrawn"))
        #expect(batch.withdraw(withdrawn))
        try await fixture.apply(batch)
        #expect(try kept.result() == 1)
        #expect(throws: StoreError.self) { try withdrawn.result() }
        #expect(!batch.withdraw(kept), "applied already: too late to withdraw")
        #expect(try fixture.texts() == ["kept"])
    }

    /// Through the database, many passes at once: each caller gets its own write's outcome, never another's.
    @Test func concurrentBookkeepingWritesEachGetTheirOwnOutcome() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.path("concurrent.sqlite"))
        try await database.writeBookkeeping { db in try db.execute(sql: "CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL)") }
        let outcomes = try await withThrowingTaskGroup(of: (Int, Result<String, Refused>).self) { group in
            for index in 0..<200 {
                group.addTask {
                    do {
                        let text = try await database.writeBookkeeping { db -> String in
                            try db.execute(sql: "INSERT INTO note (text) VALUES (?)", arguments: ["note \(index)"])
                            if index % 7 == 0 { throw Refused() }
                            return try String.fetchOne(db, sql: "SELECT text FROM note WHERE id = ?", arguments: [db.lastInsertedRowID]) ?? ""
                        }
                        return (index, .success(text))
                    } catch is Refused {
                        return (index, .failure(Refused()))
                    }
                }
            }
            return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        for index in 0..<200 {
            switch outcomes[index] {
            case .success(let text): #expect(index % 7 != 0 && text == "note \(index)")
            case .failure: #expect(index % 7 == 0)
            case nil: Issue.record("no outcome for \(index)")
            }
        }
        let stored = try await database.read { db in try String.fetchAll(db, sql: "SELECT text FROM note") }
        #expect(Set(stored) == Set((0..<200).filter { $0 % 7 != 0 }.map { "note \($0)" }))
    }

    /// Callers cancelled while the writer is busy: each is told what became of its write. A write applied by
    /// another caller's access before its own ran is reported done; one withdrawn is never applied later.
    @Test func aCancelledCallerIsToldWhatBecameOfItsWrite() async throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.path("cancelled.sqlite"))
        try await database.writeBookkeeping { db in try db.execute(sql: "CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL)") }
        // Holds the writer until every write is queued and half of them are cancelled.
        let (entered, enteredNow) = AsyncStream.makeStream(of: Void.self)
        let release = DispatchSemaphore(value: 0)
        let holder = Task {
            try await database.pool.writeWithoutTransaction { _ in
                enteredNow.yield()
                release.wait()
            }
        }
        var enteredIterator = entered.makeAsyncIterator()
        _ = await enteredIterator.next()
        let writes = (0..<20).map { index in
            Task {
                try await database.writeBookkeeping { db -> Int in
                    try db.execute(sql: "INSERT INTO note (text) VALUES (?)", arguments: ["note \(index)"])
                    return index
                }
            }
        }
        while database.bookkeeping.queuedCount < writes.count { await Task.yield() }
        for (index, write) in writes.enumerated() where index % 2 == 1 { write.cancel() }
        release.signal()
        try await holder.value
        var outcomes: [Result<Int, any Error>] = []
        for write in writes { outcomes.append(await write.result) }
        let stored = Set(try await database.read { db in try String.fetchAll(db, sql: "SELECT text FROM note") })
        for (index, outcome) in outcomes.enumerated() {
            switch outcome {
            case .success(let value):
                #expect(value == index && stored.contains("note \(index)"), "reported done: stored")
            case .failure(let error):
                #expect(error is CancellationError && index % 2 == 1, "only a cancelled caller fails, and for that: \(error)")
                #expect(!stored.contains("note \(index)"), "reported cancelled: never applied")
            }
        }
        #expect(database.bookkeeping.queuedCount == 0)
    }
}
