import Foundation
import Hummingbird
import PixelEdgeAdministration
import PixelEdgeCore

extension PixelListPage {
    /// The page a request asks for: `?q=`, `?after=`, `?limit=`; each refused with a message naming it.
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
