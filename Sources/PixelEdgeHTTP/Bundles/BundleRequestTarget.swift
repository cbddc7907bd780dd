import Foundation
import PixelEdgeCore

/// Recognises the two URLs of a bundle: `/p/{id}/pb.js` (`PixelID.bundlePath`) and, for older tags,
/// `/pb.js?id={id}`.
enum BundleRequestTarget: Equatable {
    /// The id as it appears in the URL, not yet validated.
    case pixel(Substring)
    /// `/pb.js` without an `id` parameter.
    case missingID

    static let legacyPath = "/pb.js"

    init?(path: Substring, query: Substring?) {
        if path.utf8.elementsEqual(Self.legacyPath.utf8) {
            guard let id = Self.queryValue(named: "id", in: query) else {
                self = .missingID
                return
            }
            self = .pixel(id)
            return
        }
        // Compared as bytes: this runs on every request, and Character comparison walks grapheme breaks.
        let bytes = path.utf8
        guard bytes.count >= 9, bytes.starts(with: "/p/".utf8), bytes.reversed().starts(with: "sj.bp/".utf8) else { return nil }
        let id = path[bytes.index(bytes.startIndex, offsetBy: 3)..<bytes.index(bytes.endIndex, offsetBy: -6)]
        // `/p//pb.js` or `/p/a/b/pb.js`: a bundle URL with a malformed id, answered 400 rather than 404.
        self = .pixel(id)
    }

    /// The pixel of a target that is exactly `/p/{id}/pb.js` with a valid id (a query after it is ignored, as
    /// `init(path:query:)` ignores it), read on the request's bytes: the head reader's lookup, which makes no
    /// String of the target. Nil for any other target, which the caller reads with `init(path:query:)`: the
    /// two agree wherever this one answers (`BundleRequestTargetTests`).
    static func pixelOfBundlePath(_ target: UnsafeRawBufferPointer) -> PixelID? {
        // Compared with `StaticString`s' bytes: against a `String.UTF8View`, the comparison is not specialised
        // for contiguous bytes and cost as much as the rest of the lookup.
        let prefix: StaticString = "/p/"
        let suffix: StaticString = "/pb.js"
        let pathEnd = target.firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex
        let idStart = prefix.utf8CodeUnitCount
        let idEnd = pathEnd - suffix.utf8CodeUnitCount
        guard idEnd > idStart, prefix.withUTF8Buffer({ target.prefix($0.count).elementsEqual($0) }),
            suffix.withUTF8Buffer({ target[idEnd..<pathEnd].elementsEqual($0) })
        else { return nil }
        return PixelID(utf8: UnsafeRawBufferPointer(rebasing: target[idStart..<idEnd]))
    }

    private static func queryValue(named name: String, in query: Substring?) -> Substring? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts[0] == name[...] else { continue }
            let value = parts.count > 1 ? parts[1] : ""
            guard value.contains("%") || value.contains("+") else { return value }
            // Valid ids need no escaping, but a decoded one may still be valid (`%61bc` is `abc`).
            return (String(value).replacingOccurrences(of: "+", with: " ").removingPercentEncoding).map { $0[...] } ?? value
        }
        return nil
    }
}
