import Foundation

/// A pixel as the admin API and `pixels show --json` present it: the access token masked, warnings included.
public struct PixelDocument: Encodable, Sendable {
    public struct TikTok: Encodable, Sendable {
        var pixelCode: String
        var accessToken: String?
        var testEventCode: String?
        var enabled: Bool

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.pixelCode, forKey: .pixelCode)
            // Absent values are spelled `null`, so a reader sees every field the API knows.
            try container.encode(self.accessToken, forKey: .accessToken)
            try container.encode(self.testEventCode, forKey: .testEventCode)
            try container.encode(self.enabled, forKey: .enabled)
        }

        enum CodingKeys: String, CodingKey {
            case pixelCode, accessToken, testEventCode, enabled
        }
    }

    public var id: String
    public var version: Int
    public var updatedAt: String
    public var tiktok: TikTok?
    public var warnings: [ConfigurationWarning]

    public init(_ pixel: PixelConfig, warnings: [ConfigurationWarning]? = nil) {
        self.id = pixel.id.rawValue
        self.version = pixel.version
        self.updatedAt = pixel.updatedAt.formatted(.iso8601)
        self.tiktok = pixel.tiktok.map {
            TikTok(pixelCode: $0.pixelCode.rawValue, accessToken: $0.accessToken?.masked, testEventCode: $0.testEventCode?.rawValue, enabled: $0.isEnabled)
        }
        self.warnings = warnings ?? pixel.warnings
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.version, forKey: .version)
        try container.encode(self.updatedAt, forKey: .updatedAt)
        try container.encode(self.tiktok, forKey: .tiktok)
        try container.encode(self.warnings, forKey: .warnings)
    }

    enum CodingKeys: String, CodingKey {
        case id, version, updatedAt, tiktok, warnings
    }

    /// JSON as scripts read it: stable key order, human-readable.
    public static func json(_ value: some Encodable, pretty: Bool = true) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
