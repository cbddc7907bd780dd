/// Picks the bundle's content coding from `Accept-Encoding` (RFC 9110 §12.5.3).
public enum ContentCoding: Sendable, Equatable {
    case gzip
    case identity

    /// Returns nil when the client refuses both gzip and identity (the answer is then 406).
    ///
    /// Without the header any coding is acceptable, but identity is chosen: that is what a client that
    /// never asked for compression (curl, a script) can read, and what nginx's `gzip_static` does too.
    public static func negotiate(acceptEncoding: String?) -> ContentCoding? {
        guard let acceptEncoding else { return .identity }
        var gzip: Double?
        var identity: Double?
        var wildcard: Double?
        for element in acceptEncoding.split(separator: ",") {
            var parameters = element.split(separator: ";").makeIterator()
            guard let name = parameters.next()?.trimmingASCIIWhitespace().lowercased(), !name.isEmpty else { continue }
            var quality = 1.0
            var isValid = true
            while let parameter = parameters.next() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, pair[0].trimmingASCIIWhitespace().lowercased() == "q" else { continue }
                guard let value = Double(pair[1].trimmingASCIIWhitespace()), (0...1).contains(value) else {
                    // A malformed weight says nothing reliable about this coding: skip the element, as if absent.
                    isValid = false
                    break
                }
                quality = value
            }
            guard isValid else { continue }
            switch name {
            case "gzip", "x-gzip": gzip = max(gzip ?? 0, quality)
            case "identity": identity = quality
            case "*": wildcard = quality
            default: continue
            }
        }
        let gzipQuality = gzip ?? wildcard ?? 0
        // Identity is acceptable unless refused by name, or by `*;q=0` when not named.
        let identityRefused = identity == 0 || (identity == nil && wildcard == 0)
        if gzipQuality > 0 {
            // An implicit identity always loses to gzip; an explicit one wins only with a higher weight.
            if let identity, identity > gzipQuality { return .identity }
            return .gzip
        }
        return identityRefused ? nil : .identity
    }
}

extension StringProtocol {
    func trimmingASCIIWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        let view = self[...]
        guard let start = view.firstIndex(where: { !isSpace($0) }), let end = view.lastIndex(where: { !isSpace($0) }) else {
            return Substring()
        }
        return Substring(view[start...end])
    }
}
