/// Picks the bundle's content coding from `Accept-Encoding` (RFC 9110 §12.5.3).
///
/// The highest weight wins; between br and gzip at the same weight, br (the smaller); identity only when
/// named with a higher weight than both, or when neither is acceptable. It scans the field's bytes in
/// place: it runs on every bundle request, so it allocates nothing.
public enum ContentCoding: Sendable, Equatable {
    case brotli
    case gzip
    case identity

    /// Returns nil when the client refuses br, gzip and identity (the answer is then 406).
    ///
    /// Without the header any coding is acceptable, but identity is chosen: that is what a client that
    /// never asked for compression (curl, a script) can read, and what nginx's `gzip_static` does too.
    public static func negotiate(acceptEncoding: String?) -> ContentCoding? {
        guard let acceptEncoding else { return .identity }
        var weights = Weights()
        weights.read(acceptEncoding)
        return weights.choice
    }

    /// The same for a request that repeats the field: the values form one list (RFC 9110 §5.3).
    package static func negotiate(acceptEncodingValues values: some Sequence<String>) -> ContentCoding? {
        var weights = Weights()
        var present = false
        for value in values {
            present = true
            weights.read(value)
        }
        return present ? weights.choice : .identity
    }

    package struct Weights {
        package var brotli: Double?
        package var gzip: Double?
        package var identity: Double?
        package var wildcard: Double?

        package init() {}

        package var choice: ContentCoding? {
            let brotliQuality = self.brotli ?? self.wildcard ?? 0
            let gzipQuality = self.gzip ?? self.wildcard ?? 0
            let best = max(brotliQuality, gzipQuality)
            // Identity is acceptable unless refused by name, or by `*;q=0` when not named.
            let identityRefused = self.identity == 0 || (self.identity == nil && self.wildcard == 0)
            if best > 0 {
                // An implicit identity always loses to compression; an explicit one wins only with a higher weight.
                if let identity = self.identity, identity > best { return .identity }
                return brotliQuality >= gzipQuality ? .brotli : .gzip
            }
            return identityRefused ? nil : .identity
        }

        package mutating func read(_ value: String) {
            var value = value
            value.withUTF8 { bytes in
                var index = 0
                while index < bytes.count {
                    let end = bytes[index...].firstIndex(of: UInt8(ascii: ",")) ?? bytes.count
                    self.readElement(bytes[index..<end])
                    index = end + 1
                }
            }
        }

        /// One `coding;q=0.5` element. A malformed weight says nothing reliable: the element is skipped.
        private mutating func readElement(_ element: Slice<UnsafeBufferPointer<UInt8>>) {
            let semicolon = element.firstIndex(of: UInt8(ascii: ";")) ?? element.endIndex
            let name = Self.trimmed(element[element.startIndex..<semicolon])
            guard !name.isEmpty else { return }
            var quality = 1.0
            if semicolon < element.endIndex {
                let parameter = Self.trimmed(element[(semicolon + 1)...])
                guard parameter.count >= 2, (parameter.first ?? 0) | 0x20 == UInt8(ascii: "q") else { return }
                let afterQ = Self.trimmed(parameter.dropFirst())
                guard afterQ.first == UInt8(ascii: "="), let parsed = Self.qvalue(Self.trimmed(afterQ.dropFirst())) else { return }
                quality = parsed
            }
            if Self.equalsIgnoringCase(name, "gzip") || Self.equalsIgnoringCase(name, "x-gzip") {
                self.gzip = max(self.gzip ?? 0, quality)
            } else if Self.equalsIgnoringCase(name, "br") {
                self.brotli = quality
            } else if Self.equalsIgnoringCase(name, "identity") {
                self.identity = quality
            } else if name.count == 1, name.first == UInt8(ascii: "*") {
                self.wildcard = quality
            }
        }

        /// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`
        private static func qvalue(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Double? {
            guard let first = bytes.first, first == UInt8(ascii: "0") || first == UInt8(ascii: "1") else { return nil }
            var value = Double(first - UInt8(ascii: "0"))
            var rest = bytes.dropFirst()
            guard !rest.isEmpty else { return value }
            guard rest.first == UInt8(ascii: "."), rest.count <= 4 else { return nil }
            rest = rest.dropFirst()
            var scale = 0.1
            for digit in rest {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return nil }
                value += Double(digit - UInt8(ascii: "0")) * scale
                scale /= 10
            }
            return value <= 1 ? value : nil
        }

        private static func trimmed(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Slice<UnsafeBufferPointer<UInt8>> {
            let isSpace: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            guard let start = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
                return bytes[bytes.startIndex..<bytes.startIndex]
            }
            return bytes[start...last]
        }

        private static func equalsIgnoringCase(_ bytes: Slice<UnsafeBufferPointer<UInt8>>, _ lowercase: StaticString) -> Bool {
            guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
            return lowercase.withUTF8Buffer { expected in
                // Folding case by setting 0x20 is right for letters only: it would turn a CR into "-".
                zip(bytes, expected).allSatisfy { byte, lower in
                    byte == lower || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(lower) && byte | 0x20 == lower
                }
            }
        }
    }
}

extension StringProtocol {
    package func trimmingASCIIWhitespace() -> Substring {
        // On the UTF-8 bytes: walking Characters (grapheme breaking) cost /collect about 1 % of its CPU in
        // the Content-Type check alone. The bounds stay on character boundaries: the first byte kept follows
        // only spaces, and the end is the string's or a space.
        let view = Substring(self)
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let start = view.utf8.firstIndex(where: { !isSpace($0) }), let last = view.utf8.lastIndex(where: { !isSpace($0) }) else {
            return Substring()
        }
        return view[start..<view.utf8.index(after: last)]
    }
}
