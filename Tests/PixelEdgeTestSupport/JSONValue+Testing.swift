@testable import PixelEdgeCore

extension JSONValue {
    var keys: [String] {
        guard case .object(let object) = self else { return [] }
        return object.keys.sorted()
    }

    /// Parses what a test received, with limits far above anything the tests produce.
    static func parsing(_ bytes: some Sequence<UInt8>) throws -> JSONValue {
        try JSONParser.parse(bytes, limits: JSONLimits(maximumDepth: 64, maximumKeysPerObject: 100_000, maximumValues: 10_000_000, maximumStringBytes: 1 << 24))
    }
}
