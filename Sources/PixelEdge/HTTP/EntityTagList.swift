/// The value of `If-None-Match` or `If-Match` (RFC 9110 §13.1.1–2): `*` or a list of entity-tags.
struct EntityTagList: Sendable {
    struct Tag: Equatable {
        let isWeak: Bool
        /// With its quotes, as in an `ETag` field.
        let opaque: Substring
    }

    let isWildcard: Bool
    let tags: [Tag]

    /// Parses leniently: a malformed member ends the list, keeping what came before, as a
    /// cache that sent it would still expect those to match.
    init(_ value: String) {
        let trimmed = value.trimmingASCIIWhitespace()
        if trimmed == "*" {
            self.isWildcard = true
            self.tags = []
            return
        }
        self.isWildcard = false
        var tags: [Tag] = []
        var rest = trimmed
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "\t" || $0 == "," }
            guard !rest.isEmpty else { break }
            var isWeak = false
            if rest.hasPrefix("W/") {
                isWeak = true
                rest = rest.dropFirst(2)
            }
            // Entity-tags may contain commas, so the list is scanned quote to quote, not split.
            guard rest.first == "\"", let close = rest.dropFirst().firstIndex(of: "\"") else { break }
            tags.append(Tag(isWeak: isWeak, opaque: rest[rest.startIndex...close]))
            rest = rest[rest.index(after: close)...]
        }
        self.tags = tags
    }

    /// Weak comparison, as `If-None-Match` requires: the opaque tags are equal, whatever their `W/`.
    func matchesWeakly(_ entityTag: String) -> Bool {
        self.isWildcard || self.tags.contains { $0.opaque == entityTag[...] }
    }

    /// Strong comparison, as `If-Match` requires: both strong and equal.
    func matchesStrongly(_ entityTag: String) -> Bool {
        self.isWildcard || self.tags.contains { !$0.isWeak && $0.opaque == entityTag[...] }
    }
}
