/// The value of `If-None-Match` or `If-Match` (RFC 9110 §13.1.1–2): `*` or a list of entity-tags.
///
/// Matching scans the field in place, quote to quote (entity-tags may contain commas), and allocates
/// nothing: it runs on every revalidation. A malformed member ends the list, keeping the members before
/// it, as the cache that sent them would still expect those to match.
public struct EntityTagList: Sendable {
    public let value: String

    public init(_ value: String) {
        self.value = value
    }

    /// Weak comparison, as `If-None-Match` requires: the opaque tags are equal, whatever their `W/`.
    public func matchesWeakly(_ entityTag: String) -> Bool {
        self.contains(entityTag, strongly: false)
    }

    /// Strong comparison, as `If-Match` requires: both strong and equal.
    public func matchesStrongly(_ entityTag: String) -> Bool {
        self.contains(entityTag, strongly: true)
    }

    public var isWildcard: Bool {
        self.value.trimmingASCIIWhitespace() == "*"
    }

    /// The members, in order (for tests and messages; matching does not build this).
    public var tags: [(isWeak: Bool, opaque: String)] {
        var tags: [(Bool, String)] = []
        self.forEachMember { isWeak, opaque in
            tags.append((isWeak, String(decoding: opaque, as: UTF8.self)))
            return false
        }
        return tags
    }

    private func contains(_ entityTag: String, strongly: Bool) -> Bool {
        if self.isWildcard { return true }
        var target = entityTag
        return target.withUTF8 { expected in
            var found = false
            self.forEachMember { isWeak, opaque in
                found = (!strongly || !isWeak) && opaque.elementsEqual(expected)
                return found
            }
            return found
        }
    }

    /// Calls `body` with each member (its weakness and its quoted opaque tag) until it returns true.
    private func forEachMember(_ body: (Bool, Slice<UnsafeBufferPointer<UInt8>>) -> Bool) {
        var value = self.value
        value.withUTF8 { bytes in
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                var isWeak = false
                if byte == UInt8(ascii: "W"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "/") {
                    isWeak = true
                    index += 2
                }
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return }
                guard let close = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "\"")) else { return }
                if body(isWeak, bytes[index...close]) { return }
                index = close + 1
            }
        }
    }
}
