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
