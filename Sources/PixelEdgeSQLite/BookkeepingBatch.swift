import GRDB
import PixelEdgeCore
import Synchronization

/// The forwarder's bookkeeping writes (claims, deliveries, retries, releases, statuses) committed in groups:
/// the writes queued when SQLite's one writer comes free go in one transaction, each in a savepoint of its
/// own, so that one write's failure leaves the others' changes. Sixteen pixel passes at once otherwise
/// queued sixteen transactions ahead of `/collect`'s next group commit, each writing the pages it touched to
/// the WAL; together they write each page they share once, and an event commit waits behind one of them at
/// most.
///
/// It has no task of its own. A write queues itself, then asks for the writer; whichever of the queued
/// writes' accesses runs first applies every write queued by then, and the later ones find theirs done.
/// The writer runs one access at a time, so when a caller's own access runs, its write has been committed
/// or has failed, in that access or an earlier one. (A caller cancelled while its access runs interrupts
/// SQLite, and with it the whole group: every write of the group then fails, and its caller is told so.)
final class BookkeepingBatch: Sendable {
    private let queued = Mutex<[any QueuedWrite]>([])

    /// How many writes wait for an access to the writer (for tests).
    var queuedCount: Int { self.queued.withLock { $0.count } }

    /// Queues `updates`; `result()` on what it returns, inside an access to the writer after
    /// `applyQueued(in:begin:)`, is its outcome.
    func queue<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) -> QueuedUpdate<T> {
        let write = QueuedUpdate(updates)
        self.queued.withLock { $0.append(write) }
        return write
    }

    /// Takes `write` back when its access to the writer never ran (its task was cancelled first), so that
    /// no later access applies it after its caller was told it failed. False when an access took it already.
    func withdraw(_ write: some QueuedWrite) -> Bool {
        self.queued.withLock { queued in
            guard let index = queued.firstIndex(where: { $0 === write }) else { return false }
            queued.remove(at: index)
            return true
        }
    }

    /// Applies every queued write in one transaction and records each one's outcome; `begin` runs first, in
    /// the same access (the transaction's sync level), and when it throws, every write fails with its error.
    func applyQueued(in db: Database, begin: (Database) throws -> Void) {
        let writes = self.queued.withLock { queued in
            defer { queued.removeAll() }
            return queued
        }
        guard !writes.isEmpty else { return }
        do {
            try begin(db)
            try db.inTransaction {
                // One write alone needs no savepoint: its failure rolls the transaction back, as before batching.
                guard writes.count > 1 else { return writes[0].apply(in: db, savepoint: false) ? .commit : .rollback }
                for write in writes {
                    // SQLite ends the transaction itself on some errors (a full disk, an I/O error): the rest
                    // would otherwise each commit on their own, outside the group they were told about.
                    guard db.isInsideTransaction else {
                        write.fail(StoreError(.io, "the transaction of the forwarder's bookkeeping was rolled back by an earlier write"))
                        continue
                    }
                    _ = write.apply(in: db, savepoint: true)
                }
                return .commit
            }
        } catch {
            // Not committed: whatever each write did is gone.
            for write in writes { write.fail(error) }
        }
    }
}

/// A bookkeeping write waiting for its transaction (`BookkeepingBatch`).
protocol QueuedWrite: AnyObject, Sendable {
    /// Runs the write, in a savepoint of its own when asked, and records its outcome; false when it threw.
    func apply(in db: Database, savepoint: Bool) -> Bool
    /// Records that the write is not committed.
    func fail(_ error: any Error)
}

final class QueuedUpdate<T: Sendable>: QueuedWrite {
    private let updates: @Sendable (Database) throws -> T
    private let outcome = Mutex<Result<T, any Error>?>(nil)

    init(_ updates: @escaping @Sendable (Database) throws -> T) {
        self.updates = updates
    }

    func apply(in db: Database, savepoint: Bool) -> Bool {
        let result: Result<T, any Error>
        do {
            if savepoint {
                var value: T?
                try db.inSavepoint {
                    value = try self.updates(db)
                    return .commit
                }
                guard let value else { throw StoreError(.io, "the savepoint ended without a result") }
                result = .success(value)
            } else {
                result = .success(try self.updates(db))
            }
        } catch {
            result = .failure(error)
        }
        self.outcome.withLock { $0 = result }
        if case .failure = result { return false }
        return true
    }

    func fail(_ error: any Error) {
        self.outcome.withLock { $0 = .failure(error) }
    }

    /// The write's outcome: its value once committed, or why it is not.
    func result() throws -> T {
        guard let outcome = self.outcome.withLock({ $0 }) else {
            throw StoreError(.io, "the forwarder's bookkeeping write was never applied")
        }
        return try outcome.get()
    }
}
