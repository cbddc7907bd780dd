/// The request fields PixelEdge reads before routing a request, recognised from the name's bytes,
/// case-insensitively, without building a lowercase copy: this runs for every field of every request.
enum RequestField: Equatable {
    case acceptEncoding
    case ifNoneMatch
    case ifMatch
    case ifModifiedSince
    case ifUnmodifiedSince
    case host
    case transferEncoding
    case other

    init(_ name: String) {
        var name = name
        self = name.withUTF8 { bytes in
            switch bytes.count {
            case 15 where Self.equals(bytes, "accept-encoding"): .acceptEncoding
            case 13 where Self.equals(bytes, "if-none-match"): .ifNoneMatch
            case 8 where Self.equals(bytes, "if-match"): .ifMatch
            case 17 where Self.equals(bytes, "if-modified-since"): .ifModifiedSince
            case 19 where Self.equals(bytes, "if-unmodified-since"): .ifUnmodifiedSince
            case 4 where Self.equals(bytes, "host"): .host
            case 17 where Self.equals(bytes, "transfer-encoding"): .transferEncoding
            default: .other
            }
        }
    }

    /// Folding case by setting 0x20 is right for letters only: it would turn a CR into "-".
    private static func equals(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        lowercase.withUTF8Buffer { expected in
            for index in 0..<bytes.count {
                let byte = bytes[index]
                let lower = expected[index]
                guard byte == lower || (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z") && byte | 0x20 == lower) else { return false }
            }
            return true
        }
    }
}
