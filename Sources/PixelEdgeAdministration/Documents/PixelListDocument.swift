import Foundation
public import PixelEdgeCore

/// `GET /admin/pixels`: a page of pixels, and where the next one starts (null on the last page).
public struct PixelListDocument: Encodable, Sendable {
    public var pixels: [PixelDocument]
    public var next: String?

    private enum CodingKeys: String, CodingKey {
        case pixels, next
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.pixels, forKey: .pixels)
        // Always there: a client tells the last page by a null, not by a missing field.
        try container.encode(self.next, forKey: .next)
    }
}

/// Which page of the pixel list is asked for: the admin API reads it from `?q=`, `?after=` and `?limit=`.
public struct PixelListPage: Sendable, Equatable {
    public static let defaultLimit = 100
    public static let maximumLimit = 1000
    public static let maximumSearchLength = 64

    public var search: String
    public var after: PixelID?
    public var limit: Int

    public init(search: String = "", after: PixelID? = nil, limit: Int = Self.defaultLimit) {
        self.search = search
        self.after = after
        self.limit = limit
    }
}
