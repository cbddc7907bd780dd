/// The id a site uses in its tag (`/p/<id>/pb.js`): 1 to 64 characters of `a-z`, `0-9`, `-` and `_`.
///
/// Only this type's initialiser accepts strings, so a `PixelID` is always safe to put in a path, a
/// file name, a log line or a JavaScript comment.
public struct PixelID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let rawValue: String

    public static let maximumLength = 64

    public init(validating text: String) throws(ConfigurationError) {
        func fail(_ message: String) -> ConfigurationError {
            ConfigurationError(field: "id", message: message)
        }
        guard !text.isEmpty else {
            throw fail("pixel id is empty: use 1 to 64 characters of a-z, 0-9, - and _")
        }
        guard text.count <= Self.maximumLength else {
            throw fail("pixel id is \(text.count) characters long: at most \(Self.maximumLength) are allowed")
        }
        for (offset, character) in text.enumerated() where !Self.isAllowed(character) {
            let hint = character.isUppercase ? "; pixel ids are lowercase" : ""
            throw fail(
                "pixel id contains \(character.nameForMessages) at position \(offset + 1): only a-z, 0-9, - and _ are allowed\(hint)"
            )
        }
        self.rawValue = text
    }

    /// Same rules as `init(validating:)`, for the request path, where no message is needed: it checks bytes,
    /// not Characters, since every allowed character is one ASCII byte. Inlinable, so that the HTTP layer
    /// gets a version specialised for its `Substring`: the generic one, called across modules, looked up
    /// the string's witnesses and checked each byte through them, a twentieth of a cached bundle's answer.
    @inlinable
    public init?(_ text: some StringProtocol) {
        let utf8 = text.utf8
        guard !utf8.isEmpty, utf8.count <= Self.maximumLength, utf8.allSatisfy(Self.isAllowed) else { return nil }
        self.rawValue = String(text)
    }

    /// The same, on a request's bytes as read, for the fast path, which makes no String of the target.
    @inlinable
    public init?(utf8 bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty, bytes.count <= Self.maximumLength, bytes.allSatisfy(Self.isAllowed) else { return nil }
        self.rawValue = String(decoding: bytes, as: UTF8.self)
    }

    @usableFromInline
    static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    private static func isAllowed(_ character: Character) -> Bool {
        character.asciiValue.map(Self.isAllowed) ?? false
    }

    public var description: String { self.rawValue }

    public static func < (lhs: PixelID, rhs: PixelID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(validating: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.rawValue)
    }
}

extension PixelID {
    /// The path of the pixel's bundle, as its install tag names it.
    public var bundlePath: String { "/p/\(self.rawValue)/pb.js" }
}
