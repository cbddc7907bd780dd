import FuzzSupport
import PixelEdgeCore

/// `If-None-Match` and `If-Match` lists, scanned in place: membership must agree with a plain reading of
/// RFC 9110 §8.8.3 written with Strings. The input's first line is the field, the second the tag.
@main
enum Main {
    static func main() { runFuzzer(fuzzEntityTags) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEntityTags(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let lines = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    let field = String(lines[0])
    let tag = lines.count > 1 ? "\"\(lines[1].filter { $0 != "\"" })\"" : "\"abc\""
    let list = EntityTagList(field)
    let members = Reference.members(of: field)
    let wildcard = Reference.isWildcard(field)
    precondition(list.matchesWeakly(tag) == (wildcard || members.contains { $0.opaque == tag }))
    precondition(list.matchesStrongly(tag) == (wildcard || members.contains { !$0.isWeak && $0.opaque == tag }))
    if !wildcard {
        precondition(list.tags.map(\.opaque) == members.map(\.opaque))
    }
    return 0
}

/// The same reading over an array of bytes (a Character-level reading would glue a combining mark to a quote).
enum Reference {
    /// Members until the first malformed one, as the fast path reads them.
    static func members(of field: String) -> [(isWeak: Bool, opaque: String)] {
        let bytes = Array(field.utf8)
        var members: [(Bool, String)] = []
        var index = 0
        while true {
            while index < bytes.count, [UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: ",")].contains(bytes[index]) { index += 1 }
            guard index < bytes.count else { return members }
            var isWeak = false
            if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "W"), bytes[index + 1] == UInt8(ascii: "/") {
                isWeak = true
                index += 2
            }
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\""),
                let close = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "\""))
            else { return members }
            members.append((isWeak, String(decoding: bytes[index...close], as: UTF8.self)))
            index = close + 1
        }
    }

    static func isWildcard(_ field: String) -> Bool {
        let trimmed = Array(field.utf8).drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        return Array(trimmed.reversed().drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) == [UInt8(ascii: "*")]
    }
}
