import Foundation
import Hummingbird
import PixelEdgeCore

/// `GET /admin/pixels`: a page of pixels, and where the next one starts (null on the last page).
struct PixelListDocument: Encodable, Sendable {
    var pixels: [PixelDocument]
    var next: String?

    private enum CodingKeys: String, CodingKey {
        case pixels, next
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.pixels, forKey: .pixels)
        // Always there: a client tells the last page by a null, not by a missing field.
        try container.encode(self.next, forKey: .next)
    }
}

/// Which page of the pixel list a request asks for: `?q=`, `?after=`, `?limit=`; each refused with a message
/// naming it.
struct PixelListPage: Sendable, Equatable {
    static let defaultLimit = 100
    static let maximumLimit = 1000
    static let maximumSearchLength = 64

    var search: String
    var after: PixelID?
    var limit: Int

    init(search: String = "", after: PixelID? = nil, limit: Int = Self.defaultLimit) {
        self.search = search
        self.after = after
        self.limit = limit
    }

    init(_ parameters: Parameters) throws {
        self.init(limit: try parameters.limit(upTo: Self.maximumLimit, default: Self.defaultLimit))
        if let text = parameters["after"] {
            do {
                self.after = try PixelID(validating: String(text))
            } catch {
                throw APIError(.badRequest, field: "after", "after must be a pixel id (the next of the previous page): \(error)")
            }
        }
        if let text = parameters["q"] {
            let search = text.trimmingCharacters(in: .whitespaces)
            guard search.count <= Self.maximumSearchLength else {
                throw APIError(.badRequest, field: "q", "q is \(search.count) characters long: at most \(Self.maximumSearchLength) are allowed")
            }
            self.search = search
        }
    }
}

extension Parameters {
    /// `?limit=`, from 1 to `maximum`; `default` when absent; a 400 naming it otherwise.
    func limit(upTo maximum: Int, default: Int) throws -> Int {
        guard let text = self["limit"] else { return `default` }
        guard let limit = Int(text), (1...maximum).contains(limit) else {
            throw APIError(.badRequest, field: "limit", "limit must be a whole number from 1 to \(maximum), found \"\(text.prefix(32))\"")
        }
        return limit
    }
}
