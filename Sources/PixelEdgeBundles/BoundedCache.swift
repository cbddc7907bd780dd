import Synchronization

/// A map bounded in bytes that forgets what was least recently used: CLOCK, an approximation of LRU whose
/// hit only sets a flag, in shards with a lock each so that requests on different event loops rarely meet.
///
/// Every operation is O(1) (eviction amortised): a change to one key touches only its shard.
public final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Slot {
        let key: Key
        var value: Value
        var cost: Int
        /// Set by a hit, cleared by the clock hand as it passes: an entry is evicted when the hand finds
        /// it not used since its last pass.
        var referenced: Bool
    }

    private struct Shard {
        var indices: [Key: Int] = [:]
        var slots: [Slot?] = []
        var free: [Int] = []
        var hand = 0
        var cost = 0

        func peek(_ key: Key) -> Value? {
            self.indices[key].flatMap { self.slots[$0]?.value }
        }

        mutating func value(for key: Key) -> Value? {
            guard let index = self.indices[key], let slot = self.slots[index] else { return nil }
            // Written only when it changes: a hot entry's hits only read.
            if !slot.referenced { self.slots[index]?.referenced = true }
            return slot.value
        }

        /// Stores `value`, then evicts until the shard is within `limit` (never the entry just stored).
        /// Returns how many entries went.
        mutating func set(_ value: Value, cost: Int, for key: Key, limit: Int) -> Int {
            if let index = self.indices[key], let old = self.slots[index] {
                self.cost += cost - old.cost
                self.slots[index] = Slot(key: key, value: value, cost: cost, referenced: true)
            } else {
                let slot = Slot(key: key, value: value, cost: cost, referenced: false)
                let index: Int
                if let reused = self.free.popLast() {
                    index = reused
                    self.slots[index] = slot
                } else {
                    index = self.slots.count
                    self.slots.append(slot)
                }
                self.indices[key] = index
                self.cost += cost
            }
            var evicted = 0
            while self.cost > limit, self.indices.count > 1 {
                if self.evictOne(sparing: key) { evicted += 1 }
            }
            return evicted
        }

        /// Moves the hand one slot: evicts the entry there if it was not used since the last pass.
        private mutating func evictOne(sparing spared: Key) -> Bool {
            if self.hand >= self.slots.count { self.hand = 0 }
            defer { self.hand += 1 }
            guard let slot = self.slots[self.hand], slot.key != spared else { return false }
            if slot.referenced {
                self.slots[self.hand]?.referenced = false
                return false
            }
            self.remove(at: self.hand)
            return true
        }

        mutating func remove(_ key: Key) {
            if let index = self.indices[key] { self.remove(at: index) }
        }

        private mutating func remove(at index: Int) {
            guard let slot = self.slots[index] else { return }
            self.indices[slot.key] = nil
            self.cost -= slot.cost
            self.slots[index] = nil
            self.free.append(index)
        }
    }

    /// A shard and its lock, as a class: a `Mutex` cannot be an array's element.
    private final class LockedShard: Sendable {
        let mutex = Mutex(Shard())

        func withLock<T>(_ body: (inout Shard) -> T) -> T {
            self.mutex.withLock { body(&$0) }
        }
    }

    private let shards: [LockedShard]
    /// What each shard may hold: the limit spread evenly, keys being spread evenly by their hashes.
    private let shardLimit: Int
    public let limit: Int
    private let evictions = Atomic<Int>(0)

    public init(limit: Int, shards: Int = 16) {
        precondition(limit > 0 && shards > 0)
        self.limit = limit
        self.shardLimit = max(1, limit / shards)
        self.shards = (0..<shards).map { _ in LockedShard() }
    }

    private func shard(for key: Key) -> Int {
        // The hash's high bits: a dictionary inside the shard uses the low ones.
        Int(UInt(bitPattern: key.hashValue) >> 48) % self.shards.count
    }

    public subscript(key: Key) -> Value? {
        self.shards[self.shard(for: key)].withLock { $0.value(for: key) }
    }

    /// The value of `key` without counting as a use.
    public func peek(_ key: Key) -> Value? {
        self.shards[self.shard(for: key)].withLock { $0.peek(key) }
    }

    /// Stores `value`, costing `cost` bytes, evicting what was least recently used beyond the limit.
    public func set(_ value: Value, cost: Int, for key: Key) {
        let limit = self.shardLimit
        let evicted = self.shards[self.shard(for: key)].withLock { $0.set(value, cost: cost, for: key, limit: limit) }
        if evicted > 0 { self.evictions.add(evicted, ordering: .relaxed) }
    }

    public func remove(_ key: Key) {
        self.shards[self.shard(for: key)].withLock { $0.remove(key) }
    }

    /// Entries, summed over the shards (each read under its lock; not one instant).
    public var count: Int { self.shards.reduce(0) { total, shard in total + shard.withLock { $0.indices.count } } }
    /// Bytes held, by the costs given.
    public var cost: Int { self.shards.reduce(0) { total, shard in total + shard.withLock { $0.cost } } }
    /// Entries evicted since the start.
    public var evictionCount: Int { self.evictions.load(ordering: .relaxed) }
}
