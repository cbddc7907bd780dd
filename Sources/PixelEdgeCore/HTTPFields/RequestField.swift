/// The request fields PixelEdge reads before routing a request, recognised from the name's bytes,
/// case-insensitively, without building a lowercase copy: this runs for every field of every request.
public enum RequestField: Equatable, Sendable {
    case acceptEncoding
    case ifNoneMatch
    case ifMatch
    case ifModifiedSince
    case ifUnmodifiedSince
    case host
    case transferEncoding
    case contentLength
    case connection
    case upgrade
    case expect
    case other

    public init(_ name: String) {
        var name = name
        self = name.withUTF8 { Self(UnsafeRawBufferPointer($0)) }
    }

    public init(_ name: UnsafeRawBufferPointer) {
        switch name.count {
        case 15 where Self.equals(name, "accept-encoding"): self = .acceptEncoding
        case 13 where Self.equals(name, "if-none-match"): self = .ifNoneMatch
        case 8 where Self.equals(name, "if-match"): self = .ifMatch
        case 17 where Self.equals(name, "if-modified-since"): self = .ifModifiedSince
        case 19 where Self.equals(name, "if-unmodified-since"): self = .ifUnmodifiedSince
        case 4 where Self.equals(name, "host"): self = .host
        case 17 where Self.equals(name, "transfer-encoding"): self = .transferEncoding
        case 14 where Self.equals(name, "content-length"): self = .contentLength
        case 10 where Self.equals(name, "connection"): self = .connection
        case 7 where Self.equals(name, "upgrade"): self = .upgrade
        case 6 where Self.equals(name, "expect"): self = .expect
        default: self = .other
        }
    }

    /// Whether `bytes` are `lowercase` in any case. Folding case by setting 0x20 is right for letters only:
    /// it would turn a CR into "-".
    static func equals(_ bytes: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        lowercase.withUTF8Buffer { expected in
            guard bytes.count == expected.count else { return false }
            for index in 0..<bytes.count {
                let byte = bytes[index]
                let lower = expected[index]
                guard byte == lower || (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z") && byte | 0x20 == lower) else { return false }
            }
            return true
        }
    }
}
